"""The engine's per-position input frame, kept between calls and updated by row.

A keystroke changes one position and a feed tick changes prices, yet building
the denormalised frame from Python objects costs O(positions) every time. So
the frame is split in two cached halves:

- position columns (id, side, size, wallet, ...) per positions tuple; a new
  tuple that shares most Position objects with a cached one (what an edit
  makes) is derived from it by rewriting only the rows whose object changed;
- market columns (mark, spot, beta, funding, expiry, carry rate, padded tier
  floors) per contract symbol, built once per MarketState and Settings, and
  gathered onto the positions by a symbol index; maintenance rates and amounts
  stay in a flat per-symbol tier table that the engine reads by row.

The result is the same frame, value for value, that a fresh build gives.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from core.margin import annualized_basis_pct, funding_apr_pct
from core.model import (
    DAY_MS,
    VENUE_SEPARATOR,
    ContractQuote,
    MarketState,
    Position,
    Settings,
    Tier,
    base_asset,
    is_dated_symbol,
    is_inverse_symbol,
    split_venue,
    venue_key,
)

# How many positions tuples and markets to keep: the draft, the saved book and
# an undo step or two; the current and the previous tick.
MAX_POSITION_TABLES = 4
MAX_MARKET_TABLES = 3
# A positions tuple is diffed against a cached one by halving unequal slices down
# to this length; only those are scanned row by row.
DIFF_SCAN = 32
# Beyond this many changed rows a full rebuild is as cheap as patching.
MAX_PATCHED_ROWS = 256
# The symbol table is append-only (positions refer to it by index); once it holds
# more than this many symbols beyond twice those in use, the caches start afresh.
MIN_SYMBOL_LIMIT = 1024

POSITION_COLUMNS: dict[str, Any] = {
    "id": pl.String,
    "book": pl.String,
    "kind": pl.String,
    "symbol": pl.String,
    "asset": pl.String,
    "sign": pl.Int8,
    "side": pl.String,
    "size": pl.Float64,
    "entry_price": pl.Float64,
    "leverage": pl.Float64,
    "margin_mode": pl.String,
    "cross": pl.Boolean,
    "wallet": pl.Float64,
    "spot_qty": pl.Float64,
    "venue": pl.String,
}
MARKET_COLUMNS: dict[str, Any] = {
    "spot_price": pl.Float64,
    "beta": pl.Float64,
    "is_swap": pl.Boolean,
    "funding_rate": pl.Float64,
    "funding_interval_h": pl.Float64,
    "days_to_expiry": pl.Float64,
    "stale": pl.Boolean,
    "tier_source": pl.String,
    # What a short earns, % a year: the funding APR of a perpetual, the annualized
    # basis of a dated future (per contract, so once per market, not per position).
    "carry_rate_pct": pl.Float64,
}


def position_row(p: Position) -> tuple:
    """The position columns of one position, in POSITION_COLUMNS order."""
    cross = p.margin_mode == "cross"
    return (
        p.id,
        p.book,
        p.kind,
        p.symbol,
        p.base,
        p.sign,
        p.side,
        p.size,
        p.entry_price,
        p.leverage,
        p.margin_mode,
        cross,
        0.0 if cross else p.isolated_margin(),
        p.spot_qty if p.kind == "basis" else 0.0,
        p.venue,
    )


@dataclass
class _Symbols:
    """Append-only table of contract symbols; positions refer to it by index."""

    names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def of(self, symbol: str) -> int:
        found = self.index.get(symbol)
        if found is None:
            found = self.index[symbol] = len(self.names)
            self.names.append(symbol)
        return found


@dataclass
class PositionTable:
    """Position columns of one positions tuple, and which contracts they use."""

    positions: tuple[Position, ...]
    frame: pl.DataFrame  # POSITION_COLUMNS
    symbol_index: pl.Series  # UInt32: each position's row in the symbol table
    symbol_counts: dict[int, int]  # how many positions use each symbol
    # Per-book row masks; shared by the tables derived from this one by edits that
    # move no position between books.
    book_masks: dict[str, tuple[pl.Series, np.ndarray]] = field(default_factory=dict)

    def in_book(self, book: str) -> tuple[pl.Series, np.ndarray]:
        """Which rows belong to `book`, as a polars mask and as a numpy one."""
        mask = self.book_masks.get(book)
        if mask is None:
            series = self.frame.get_column("book") == book
            mask = self.book_masks[book] = (series, series.to_numpy())
        return mask


@dataclass
class MarketTable:
    """Per-symbol market columns for the first `n_symbols` symbols of the table."""

    market: MarketState
    settings: Settings
    n_symbols: int
    frame: pl.DataFrame  # mark_price (nullable), MARKET_COLUMNS, padded tier floors
    tiers: TierColumns
    tier_counts: list[int]
    uniform_tiers: int | None  # the tier count when every symbol has the same
    inverse: set[int]  # symbols the engine refuses
    defaulted: list[int]  # symbols priced with the default maintenance rate
    incomplete: set[int]  # no mark, or no spot price: per-position warnings needed
    assets: list[str] = field(default_factory=list)  # base asset of each symbol
    by_tier_count: dict[int, pl.DataFrame] = field(default_factory=dict)
    # (symbol index, tier count, gathered columns): an edit that keeps every
    # position's contract reuses the market columns gathered for the last one.
    gathered: list[tuple[pl.Series, int, list[pl.Series]]] = field(default_factory=list)

    def gather(self, symbol_index: pl.Series, n_tiers: int) -> list[pl.Series]:
        """Market columns, tier floors 1..n_tiers-1 and (last) each position's first row
        in the flat tier table, per position's contract."""
        for index, tiers, columns in self.gathered:
            if index is symbol_index and tiers == n_tiers:
                return columns
        columns = self.columns(n_tiers)[symbol_index].get_columns()
        columns.append((symbol_index * self.tiers.stride).alias("tier_row"))
        self.gathered = [*self.gathered[-1:], (symbol_index, n_tiers, columns)]
        return columns

    def columns(self, n_tiers: int) -> pl.DataFrame:
        """The frame with tier floors 1..n_tiers-1 only (what gets gathered onto positions)."""
        frame = self.by_tier_count.get(n_tiers)
        if frame is None:
            names = ["mark_price", *MARKET_COLUMNS, *(f"t_min_{k}" for k in range(1, n_tiers))]
            frame = self.by_tier_count[n_tiers] = pl.DataFrame(
                [self.frame.get_column(n) for n in names]
            )
        return frame


class PositionFrames:
    """Builds the engine's per-position frame, reusing what the last calls built."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every cached table (the next call builds from scratch)."""
        self.symbols = _Symbols()
        self.tables: OrderedDict[int, PositionTable] = OrderedDict()
        self.markets: OrderedDict[tuple[int, int], MarketTable] = OrderedDict()

    # Symbols beyond twice those in use that the table may hold before starting afresh.
    symbol_limit = MIN_SYMBOL_LIMIT
    # The default venue: its positions' contracts are keyed by symbol alone.
    default_venue = ""

    def key_of(self, p: Position) -> str:
        """A position's contract in the symbol table: its symbol on its own venue."""
        return venue_key(p.symbol, "" if p.venue == self.default_venue else p.venue)

    def needs_compaction(self) -> bool:
        """True when the symbol table holds far more symbols than the cached books use."""
        if len(self.symbols.names) <= self.symbol_limit:
            return False
        in_use: set[int] = set()
        for table in self.tables.values():
            in_use.update(table.symbol_counts)
        return len(self.symbols.names) > 2 * len(in_use) + self.symbol_limit

    # -- position columns ------------------------------------------------------

    def _build(self, positions: tuple[Position, ...]) -> PositionTable:
        rows = [position_row(p) for p in positions]
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(POSITION_COLUMNS)
        indices = [self.symbols.of(self.key_of(p)) for p in positions]
        counts: dict[int, int] = {}
        for i in indices:
            counts[i] = counts.get(i, 0) + 1
        series = [
            pl.Series(name, list(values), dtype=dtype)
            for (name, dtype), values in zip(POSITION_COLUMNS.items(), columns, strict=True)
        ]
        index = pl.Series("symbol_index", indices, dtype=pl.UInt32)
        return PositionTable(positions, pl.DataFrame(series), index, counts)

    def _changed_rows(
        self, old: tuple[Position, ...], new: tuple[Position, ...]
    ) -> list[int] | None:
        """Rows whose Position object differs, or None when there are too many."""
        changed: list[int] = []
        # Halve the range until the unequal slices are short: tuple equality checks
        # identity first, so an untouched slice costs a C loop, and an edit of one row
        # costs a few slice comparisons instead of a Python loop over every row.
        pending = [(0, len(new))]
        while pending:
            start, end = pending.pop()
            if old[start:end] == new[start:end]:
                continue
            if end - start > DIFF_SCAN:
                middle = (start + end) // 2
                pending += [(middle, end), (start, middle)]
                continue
            changed.extend(i for i in range(start, end) if old[i] is not new[i])
            if len(changed) > MAX_PATCHED_ROWS:
                return None
        return changed

    def _derive(self, base: PositionTable, positions: tuple[Position, ...]) -> PositionTable:
        changed = self._changed_rows(base.positions, positions)
        if changed is None:
            return self._build(positions)
        if not changed:
            return PositionTable(
                positions, base.frame, base.symbol_index, base.symbol_counts, base.book_masks
            )
        rows = [position_row(positions[i]) for i in changed]
        old_rows = [position_row(base.positions[i]) for i in changed]
        new_indices = [self.symbols.of(self.key_of(positions[i])) for i in changed]
        old_indices = [self.symbols.index[self.key_of(base.positions[i])] for i in changed]
        at = pl.Series(changed, dtype=pl.UInt32)
        if new_indices == old_indices:
            # Same contracts: the symbol index and counts (and what is cached on them) stay.
            index, counts = base.symbol_index, base.symbol_counts
        else:
            counts = dict(base.symbol_counts)
            for old_index, new_index in zip(old_indices, new_indices, strict=True):
                counts[old_index] -= 1
                if not counts[old_index]:
                    del counts[old_index]
                counts[new_index] = counts.get(new_index, 0) + 1
            index = base.symbol_index.clone().scatter(at, pl.Series(new_indices, dtype=pl.UInt32))
        # clone() shares every column's buffer; only the columns an edit touched are
        # replaced (a one-field edit touches one).
        frame = base.frame.clone()
        replaced = set()
        for k, (column, (name, dtype)) in enumerate(
            zip(base.frame.get_columns(), POSITION_COLUMNS.items(), strict=True)
        ):
            values = [row[k] for row in rows]
            if all(_same(row[k], v) for row, v in zip(old_rows, values, strict=True)):
                continue
            # scatter copies the shared buffer before writing, so the cached frame (and
            # any Report holding it) keeps its values. Typed Series arguments keep
            # scatter a direct kernel call.
            frame.replace_column(k, column.clone().scatter(at, pl.Series(values, dtype=dtype)))
            replaced.add(name)
        masks = {} if "book" in replaced else base.book_masks
        return PositionTable(positions, frame, index, counts, masks)

    def _table(self, positions: tuple[Position, ...]) -> PositionTable:
        key = id(positions)
        table = self.tables.get(key)
        if table is not None and table.positions is positions:
            self.tables.move_to_end(key)
            return table
        # Diff against the most recent table of the same length (an edit of it).
        base = next(
            (t for t in reversed(self.tables.values()) if len(t.positions) == len(positions)),
            None,
        )
        table = self._derive(base, positions) if base is not None else self._build(positions)
        self.tables[key] = table
        while len(self.tables) > MAX_POSITION_TABLES:
            self.tables.popitem(last=False)
        return table

    # -- market columns ------------------------------------------------------------

    def market_table(
        self, market: MarketState, settings: Settings, beta: Callable[[str], float]
    ) -> MarketTable:
        """Market columns for every symbol in the table (cached per market and settings)."""
        key = (id(market), id(settings))
        table = self.markets.get(key)
        if (
            table is not None
            and table.market is market
            and table.settings is settings
            and table.n_symbols == len(self.symbols.names)
        ):
            self.markets.move_to_end(key)
            return table
        previous = next(reversed(self.markets.values()), None)
        table = _market_table(self.symbols.names, market, settings, beta, previous)
        self.markets[key] = table
        while len(self.markets) > MAX_MARKET_TABLES:
            self.markets.popitem(last=False)
        return table

    def frame(
        self,
        positions: tuple[Position, ...],
        market: MarketState,
        settings: Settings,
        beta: Callable[[str], float],
    ) -> GatheredFrame:
        """The per-position frame with market columns and tier floors gathered on."""
        if market.exchange != self.default_venue:
            # Keys depend on which venue is the default one: start afresh for another.
            self.clear()
            self.default_venue = market.exchange
        table = self._table(positions)
        prices = self.market_table(market, settings, beta)
        used = table.symbol_counts
        if not used:
            n_tiers = 1
        elif prices.uniform_tiers is not None:
            n_tiers = prices.uniform_tiers
        else:
            n_tiers = max(prices.tier_counts[i] for i in used)
        columns = prices.gather(table.symbol_index, n_tiers)
        tier_row = columns[-1]
        columns = columns[:-1]
        mark = columns[0]
        if mark.null_count():
            # No mark: the spot price, else the entry price (the engine warns).
            columns[0] = (
                pl.DataFrame([mark, columns[1], table.frame.get_column("entry_price")])
                .select(pl.coalesce("mark_price", "spot_price", "entry_price"))
                .to_series()
            )
        return GatheredFrame(table.frame.hstack(columns), n_tiers, tier_row, table, prices)


@dataclass(frozen=True)
class GatheredFrame:
    """What PositionFrames.frame() gives the engine."""

    frame: pl.DataFrame
    n_tiers: int  # tier floor columns t_min_1 .. t_min_{n_tiers-1} are on the frame
    tier_row: pl.Series  # per position: where its contract's tiers start in the flat table
    table: PositionTable
    prices: MarketTable


# Stands in for a symbol the market does not quote, so that one pass reads every row.
_UNQUOTED = ContractQuote("", "", "swap")


def _floats(values: list) -> np.ndarray:
    """float64 array of a list of numbers and Nones (None becomes NaN)."""
    return np.array(values, dtype=np.float64)


def _market_table(
    symbols: Sequence[str],
    market: MarketState,
    settings: Settings,
    beta: Callable[[str], float],
    previous: MarketTable | None,
) -> MarketTable:
    """Market columns per symbol: one pass over the quotes reads their fields, the rest
    is array arithmetic (a tick moves every price, so every row is rebuilt)."""
    n = len(symbols)
    tier_refs = [market.tiers.get(symbol) for symbol in symbols]
    tiers = _tier_columns(tier_refs, settings, previous)
    # A symbol's asset and beta depend on its name and the settings only: the symbol
    # table is append-only, so the previous market's are kept and extended.
    known = previous.assets if previous is not None else []
    assets = known[:n] + [base_asset(symbol) for symbol in symbols[len(known) :]]
    if previous is not None and previous.settings is settings and previous.n_symbols <= n:
        kept = previous.frame.get_column("beta").to_numpy()[: previous.n_symbols]
        betas = np.concatenate([kept, _beta_values(assets[previous.n_symbols :], beta)])
    else:
        betas = _beta_values(assets, beta)

    contracts, spot_quotes = market.contracts, market.spot
    quotes = [contracts.get(symbol, _UNQUOTED) for symbol in symbols]
    spot = [spot_quotes.get(asset) for asset in assets]
    for i in [i for i, key in enumerate(symbols) if VENUE_SEPARATOR in key or spot[i] is None]:
        # Another venue's contract takes its own venue's spot price where there is one;
        # an asset without a default-venue quote, the first other venue's.
        spot[i] = market.spot_quote(assets[i], split_venue(symbols[i])[1])
    spot_price = _floats([None if q is None else q.price for q in spot])
    mark = _floats([q.mark for q in quotes])
    is_swap = np.array([q.kind == "swap" for q in quotes], dtype=bool)
    linear = np.array([q.linear for q in quotes], dtype=bool)
    rate = _floats([q.funding_rate for q in quotes])
    interval = _floats([q.funding_interval_h or None for q in quotes])
    expiry = _floats([q.expiry_ms or None for q in quotes])
    ts = np.array([q.ts_ms for q in quotes], dtype=np.int64)

    interval = np.where(np.isnan(interval), settings.funding_interval_h, interval)
    funding_rate = np.where(is_swap, rate, np.nan)
    days = (expiry - market.clock_ms) / DAY_MS
    if market.status in ("stale", "offline"):
        stale = np.ones(n, dtype=bool)
    else:
        stale = np.isnan(mark) | (ts <= 0) | (market.clock_ms - ts > market.stale_after_ms)
    # What a short earns, % a year: the funding APR of a perpetual, the annualized basis
    # of a dated future (a contract without a mark is valued at the spot price: no basis).
    apr = funding_rate * (24.0 / interval * 365.0) * 100.0
    price = np.where(np.isnan(mark), spot_price, mark)
    with np.errstate(invalid="ignore", divide="ignore"):
        dated = (days > 0) & (spot_price > 0) & ~np.isnan(price)
        annualized = np.where(dated, (price / spot_price - 1.0) * 100.0 * 365.0 / days, np.nan)
    carry = np.where(is_swap, apr, annualized)

    inverse = set(np.flatnonzero(~linear).tolist())
    incomplete = set(np.flatnonzero(np.isnan(mark) | np.isnan(spot_price)).tolist())
    for i in [i for i, q in enumerate(quotes) if q is _UNQUOTED]:
        # Rare: no quote at all. The name tells whether it is inverse or dated.
        incomplete.add(i)
        if is_inverse_symbol(symbols[i]):
            inverse.add(i)
        is_swap[i] = not is_dated_symbol(symbols[i])
        interval[i] = settings.funding_interval_h
        carry[i] = days[i] = funding_rate[i] = np.nan
        stale[i] = True
    if (
        previous is not None
        and tiers is previous.tiers
        and previous.market.tier_sources is market.tier_sources
        and previous.market.status == market.status
    ):
        # The same tiers, sources and feed status: the same labels (a tick keeps them).
        tier_source = previous.frame.get_column("tier_source")
    else:
        tier_source = pl.Series(
            "tier_source", [market.tier_source(symbol) for symbol in symbols], dtype=pl.String
        )
    series = [
        pl.Series("mark_price", mark, nan_to_null=True),
        pl.Series("spot_price", spot_price, nan_to_null=True),
        pl.Series("beta", betas, dtype=pl.Float64),
        pl.Series("is_swap", is_swap),
        pl.Series("funding_rate", funding_rate, nan_to_null=True),
        pl.Series("funding_interval_h", interval),
        pl.Series("days_to_expiry", days, nan_to_null=True),
        pl.Series("stale", stale),
        tier_source,
        pl.Series("carry_rate_pct", carry, nan_to_null=True),
    ]
    return MarketTable(
        market=market,
        settings=settings,
        n_symbols=n,
        frame=pl.DataFrame(series + tiers.series),
        tiers=tiers,
        tier_counts=tiers.counts,
        uniform_tiers=tiers.counts[0] if len(set(tiers.counts)) == 1 else None,
        inverse=inverse,
        defaulted=tiers.defaulted,
        incomplete=incomplete,
        assets=assets,
    )


def _beta_values(assets: list[str], beta: Callable[[str], float]) -> np.ndarray:
    """Each asset's beta, looked up once per distinct asset."""
    of: dict[str, float] = {}
    return np.array(
        [of[a] if a in of else of.setdefault(a, beta(a)) for a in assets], dtype=np.float64
    )


def _carry_rate_pct(
    is_swap: bool,
    funding_rate: float | None,
    interval_h: float,
    days: float | None,
    mark: float | None,
    spot_price: float | None,
) -> float | None:
    """What a short earns, % a year: funding APR, or annualized basis until expiry."""
    if is_swap:
        return None if funding_rate is None else funding_apr_pct(funding_rate, interval_h)
    # A contract without a mark is valued at the spot price: no basis.
    price = spot_price if mark is None else mark
    if days is None or not days > 0 or spot_price is None or not spot_price > 0 or price is None:
        return None
    return annualized_basis_pct((price / spot_price - 1.0) * 100.0, days)


@dataclass(frozen=True)
class TierColumns:
    refs: list  # the tier tuple of each symbol, as the market held it (or None)
    default_mmr: float
    series: list[pl.Series]  # t_min_k per symbol, padded with +inf
    counts: list[int]
    defaulted: list[int]
    # Every symbol's tiers padded to `stride` rows, one after the other: a position's
    # tier k is row tier_row + k (tier_row = symbol index x stride).
    stride: int
    mmr: pl.Series
    cum: pl.Series


def _tier_columns(refs: list, settings: Settings, previous: MarketTable | None) -> TierColumns:
    """Padded tier columns; a feed tick keeps the same tier objects, so reuse them."""
    if (
        previous is not None
        and previous.tiers.default_mmr == settings.default_mmr
        and len(previous.tiers.refs) == len(refs)
        and all(a is b for a, b in zip(previous.tiers.refs, refs, strict=True))
    ):
        return previous.tiers
    default_tier = (Tier(0.0, math.inf, settings.default_mmr, None, 0.0),)
    rows = [r if r else default_tier for r in refs]
    counts = [len(t) for t in rows] or [1]
    stride = max(counts)
    series = [
        pl.Series(
            f"t_min_{k}",
            [t[k].min_notional if k < len(t) else math.inf for t in rows],
            dtype=pl.Float64,
            strict=False,
        )
        for k in range(stride)
    ]
    padding = [(0.0, 0.0)] * stride
    flat = [
        pair for t in rows for pair in [*((tier.mmr, tier.cum) for tier in t), *padding[len(t) :]]
    ]
    defaulted = [i for i, r in enumerate(refs) if not r]
    return TierColumns(
        refs,
        settings.default_mmr,
        series,
        counts,
        defaulted,
        stride,
        pl.Series("mmr", [m for m, _ in flat], dtype=pl.Float64, strict=False),
        pl.Series("cum", [c for _, c in flat], dtype=pl.Float64, strict=False),
    )


def _same(a: object, b: object) -> bool:
    """Equal and indistinguishable in a column (0.0 and -0.0 differ, NaN matches NaN)."""
    return a is b or (type(a) is type(b) and repr(a) == repr(b))
