"""compute(portfolio, market, shock) -> Report: the risk engine (polars inside).

Per-position maths runs as eager polars Series operations over one
denormalised frame (prices, betas, carry rates and tier floors already on each
row; maintenance rates read from a flat tier table by row); per-asset sums are
bincounts over integer asset slots. Scalar references of the margin formulas
live in core.margin and the tests check the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from core.identity_cache import IdentityCache
from core.margin import annualized_basis_pct, funding_apr_pct
from core.model import (
    DAY_MS,
    ContractQuote,
    Holding,
    MarketState,
    Portfolio,
    Settings,
    SpotQuote,
    base_asset,
    is_inverse_symbol,
    split_venue,
)
from core.position_frames import (
    MAX_MARKET_TABLES,
    MarketTable,
    PositionFrames,
    PositionTable,
    TierColumns,
)
from core.position_risk import Book as RiskBook
from core.position_risk import (
    Margins,
    ShockToLiquidation,
    TierMatrix,
    liquidation_prices,
    margins_at,
    ratio,
    shock_to_liquidation,
)
from core.report import (
    AccountRow,
    Allocation,
    AssetRow,
    BasisRow,
    HoldingRow,
    LazyRows,
    Report,
    Scenario,
    Totals,
)
from core.series import MINUS_ONE, at_least


class UnsupportedContractError(ValueError):
    """A contract the engine refuses to price (e.g. inverse, coin-settled)."""


@dataclass(frozen=True)
class _Beta:
    value: float
    assumed: bool


def _beta(asset: str, settings: Settings) -> _Beta:
    if asset in settings.stablecoins:
        return _Beta(0.0, False)
    if asset == "BTC":
        return _Beta(1.0, False)
    if asset in settings.betas:
        return _Beta(float(settings.betas[asset]), False)
    return _Beta(1.0, True)


def _health(margin_ratio: float | None, settings: Settings) -> str:
    if margin_ratio is None or margin_ratio >= settings.margin_ratio_danger:
        return "danger"
    if margin_ratio >= settings.margin_ratio_warn:
        return "warn"
    return "ok"


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator; 0 when nothing is at risk, None when undefined."""
    if numerator == 0:
        return 0.0
    if denominator <= 0:
        return None
    ratio = numerator / denominator
    # A balance of a few 1e-300 dollars overflows: as undefined as no balance at all.
    return ratio if math.isfinite(ratio) else None


def _pct_of(part: float, whole: float) -> float | None:
    """part / whole in percent; None when whole is not positive or the share overflows."""
    if whole <= 0:
        return None
    share = part / whole * 100.0
    return share if math.isfinite(share) else None


_DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class _Holdings:
    """The holdings' columns that no market changes (laid out once per holdings)."""

    assets: tuple[str, ...]
    venues: tuple[str, ...]
    qty: np.ndarray
    stable: np.ndarray  # bool
    beta: np.ndarray
    assumed: tuple[bool, ...]
    cost: tuple[float | None, ...]


def _holdings_layout(holdings: tuple[Holding, ...], settings: Settings) -> _Holdings:
    stables = set(settings.stablecoins)
    betas = [_beta(h.asset, settings) for h in holdings]
    return _Holdings(
        assets=tuple(h.asset for h in holdings),
        venues=tuple(h.venue for h in holdings),
        qty=np.array([h.qty for h in holdings], dtype=np.float64),
        stable=np.array([h.asset in stables for h in holdings], dtype=bool),
        beta=np.array([b.value for b in betas], dtype=np.float64),
        assumed=tuple(b.assumed for b in betas),
        cost=tuple(h.cost_usd for h in holdings),
    )


@dataclass(frozen=True)
class _SpotBook:
    """The core holdings valued on one market: what does not depend on the futures."""

    holdings: _Holdings
    quotes: tuple[SpotQuote | None, ...]
    price: np.ndarray  # NaN where there is none (a stablecoin without one is at 1.0)
    value: np.ndarray  # qty x price (0 without a price)
    stale: np.ndarray
    spot_value: float
    core_value: float
    warnings: tuple[str, ...]

    def rows(self) -> tuple[tuple, ...]:
        """HoldingRow fields, without weight_pct, in holdings order."""
        h = self.holdings
        prices = [None if math.isnan(p) else p for p in self.price.tolist()]
        return tuple(
            (
                asset,
                qty,
                price,
                value,
                beta,
                assumed,
                quote.change_24h_pct if quote is not None else None,
                stable,
                stale,
                cost,
                (qty * price - cost) if (cost is not None and price) else None,
            )
            for asset, qty, price, value, beta, assumed, quote, stable, stale, cost in zip(
                h.assets,
                h.qty.tolist(),
                prices,
                self.value.tolist(),
                h.beta.tolist(),
                h.assumed,
                self.quotes,
                h.stable.tolist(),
                self.stale.tolist(),
                h.cost,
                strict=True,
            )
        )


def _spot_book(holdings: _Holdings, market: MarketState) -> _SpotBook:
    # The default venue's quote by one lookup; another venue's, or a missing one,
    # through the market's own fallback (its venue, the default one, any other).
    get = market.spot.get
    quotes = [
        None if market.venue_of(v) else get(a)
        for a, v in zip(holdings.assets, holdings.venues, strict=True)
    ]
    for i in [i for i, q in enumerate(quotes) if q is None]:
        quotes[i] = market.spot_quote(holdings.assets[i], holdings.venues[i])
    quoted = np.array([q is not None and q.price is not None for q in quotes], dtype=bool)
    price = np.array([q.price if q is not None else None for q in quotes], dtype=np.float64)
    price = np.where(quoted, price, np.where(holdings.stable, 1.0, np.nan))
    if market.status in ("stale", "offline"):
        stale_quote = np.ones(len(quotes), dtype=bool)
    else:
        ts = np.array([q.ts_ms if q is not None else 0 for q in quotes], dtype=np.int64)
        stale_quote = (ts <= 0) | (market.clock_ms - ts > market.stale_after_ms)
    unpriced = ~quoted & ~holdings.stable
    value = holdings.qty * np.where(np.isnan(price), 0.0, price)
    return _SpotBook(
        holdings=holdings,
        quotes=tuple(quotes),
        price=price,
        value=value,
        stale=np.where(quoted, stale_quote, unpriced),
        # Python sums, in holdings order, as the figures have always been added.
        spot_value=sum(value.tolist()),
        core_value=sum(value[~holdings.stable].tolist()),
        warnings=tuple(
            f"no spot price for {holdings.assets[i]}: its holding is valued at 0"
            for i in np.flatnonzero(unpriced).tolist()
        ),
    )


@dataclass(frozen=True)
class _AssetLayout:
    """The per-asset rows in display order (BTC first) for one book's assets."""

    names: tuple[str, ...]
    beta: np.ndarray
    assumed: tuple[bool, ...]
    slot_of_symbol: np.ndarray  # asset slot of each symbol; len(names) for stablecoins
    warnings: tuple[str, ...]


def _asset_layout(
    names: Sequence[str],
    symbol_counts: dict[int, int],
    holdings: tuple[Holding, ...],
    settings: Settings,
) -> _AssetLayout:
    """Which assets get a row, in what order, with their betas (prices play no part)."""
    stables = set(settings.stablecoins)
    position_assets = {i: base_asset(names[i]) for i in symbol_counts}
    assets = {h.asset for h in holdings if h.asset not in stables}
    assets |= {a for a in position_assets.values() if a not in stables}
    ordered = sorted(assets, key=lambda a: (a != "BTC", a))
    slot = {a: i for i, a in enumerate(ordered)}
    slot_of_symbol = np.full(len(names), len(ordered), dtype=np.int64)
    for i, asset in position_assets.items():
        slot_of_symbol[i] = slot.get(asset, len(ordered))
    betas = [_beta(a, settings) for a in ordered]
    return _AssetLayout(
        names=tuple(ordered),
        beta=np.array([b.value for b in betas], dtype=np.float64),
        assumed=tuple(b.assumed for b in betas),
        slot_of_symbol=slot_of_symbol,
        warnings=tuple(
            f"no beta for {a} in config: assumed 1.0"
            for a, b in zip(ordered, betas, strict=True)
            if b.assumed
        ),
    )


def _core_values(layout: _AssetLayout, spot: _SpotBook) -> np.ndarray:
    """Core (non-stable) spot value per asset of the layout, 0.0 where none."""
    h = spot.holdings
    core = ~h.stable
    if not core.any():
        return np.zeros(len(layout.names), dtype=np.float64)
    slot = {a: i for i, a in enumerate(layout.names)}
    slots = np.array(
        [slot[a] for a, c in zip(h.assets, core.tolist(), strict=True) if c], dtype=np.intp
    )
    # bincount adds each asset's values in holdings order from 0.0, as a running sum does.
    return np.bincount(slots, spot.value[core], len(layout.names))


@dataclass(frozen=True)
class _PositionSlots:
    """Each position's asset slot (stablecoin positions get the slot after the last asset)."""

    codes: np.ndarray  # per position, in 0..n_assets
    slot_of_row: np.ndarray  # per position, clipped into the layout for gathers
    in_layout: np.ndarray  # False for stablecoin positions
    any_in_layout: bool

    @staticmethod
    def of(table: PositionTable, layout: _AssetLayout) -> _PositionSlots:
        slot = layout.slot_of_symbol[table.symbol_index.to_numpy()]
        n_assets = len(layout.names)
        in_layout = slot < n_assets
        return _PositionSlots(
            codes=slot,
            slot_of_row=np.minimum(slot, max(n_assets - 1, 0)),
            in_layout=in_layout,
            any_in_layout=bool(in_layout.any()),
        )


@dataclass(frozen=True)
class _PositionInputs:
    """The per-position frame (market data and tier floors on each row), with what it
    was built from: the position table and the flat tier table."""

    frame: pl.DataFrame
    n_tiers: int
    table: PositionTable
    tiers: _TierLookup
    prices: MarketTable


def _position_frame(
    frames: PositionFrames,
    portfolio: Portfolio,
    market: MarketState,
    settings: Settings,
    warnings: list[str],
) -> _PositionInputs:
    gathered = frames.frame(
        portfolio.positions, market, settings, lambda asset: _beta(asset, settings).value
    )
    table, prices = gathered.table, gathered.prices
    used = table.symbol_counts
    if any(i in used for i in prices.inverse) or any(i in used for i in prices.incomplete):
        # Rare: refusals and warnings name positions, in portfolio order.
        for p in portfolio.positions:
            quote = market.contracts.get(market.contract_key(p.symbol, p.venue))
            # Without a quote the symbol is the only clue; an inverse contract priced as
            # linear would be silently wrong, so both paths refuse it.
            if (quote is not None and not quote.linear) or (
                quote is None and is_inverse_symbol(p.symbol)
            ):
                raise UnsupportedContractError(
                    f"position {p.id}: {p.symbol} is an inverse (coin-settled) contract; "
                    "only linear USDT/USDC-settled contracts are supported"
                )
            spot_quote = market.spot_quote(p.base, p.venue)
            spot_price = spot_quote.price if spot_quote else None
            if p.kind == "basis" and spot_price is None:
                warnings.append(
                    f"no spot price for {p.base}: the spot leg of {p.id} is valued at 0"
                )
            if (quote.mark if quote else None) is None:
                source = "spot price" if spot_price is not None else "entry price"
                warnings.append(f"no mark price for {p.symbol}: {p.id} valued at its {source}")
    names = frames.symbols.names
    for symbol in sorted(names[i] for i in prices.defaulted if i in used):
        warnings.append(
            f"no leverage tiers for {symbol}: default maintenance rate "
            f"{settings.default_mmr:.2%} used"
        )
    return _PositionInputs(
        gathered.frame,
        gathered.n_tiers,
        table,
        _TierLookup(prices.tiers, gathered.tier_row),
        prices,
    )


@dataclass(frozen=True)
class _TierLookup:
    table: TierColumns
    first_row: pl.Series  # per position: where its contract's tiers start in the table


def _tier_matrix(frame: pl.DataFrame, n_tiers: int, tiers: _TierLookup) -> TierMatrix:
    """Each position's tiers as n x T arrays (floors from the frame, rates by row)."""
    n = frame.height
    rows = tiers.first_row.to_numpy().astype(np.intp)[:, None] + np.arange(n_tiers)[None, :]
    mmr = tiers.table.mmr.to_numpy()[rows] if n else np.zeros((0, n_tiers))
    cum = tiers.table.cum.to_numpy()[rows] if n else np.zeros((0, n_tiers))
    floor = np.zeros((n, n_tiers))
    for k in range(1, n_tiers):
        floor[:, k] = frame.get_column(f"t_min_{k}").to_numpy()
    cap = np.empty((n, n_tiers))
    cap[:, :-1] = floor[:, 1:]
    cap[:, -1] = np.inf
    return TierMatrix(floor=floor, cap=cap, mmr=mmr, cum=cum)


@dataclass(frozen=True)
class _Accounts:
    """The venues' cross accounts: the default venue first, then the others by name."""

    names: tuple[str, ...]  # "" is the default venue
    codes: np.ndarray  # per position
    wallets: np.ndarray  # cross wallet per account


@dataclass(frozen=True)
class _AccountLayout:
    """Which venue's cross account each position belongs to (its contract's venue)."""

    names: tuple[str, ...]  # "" is the default venue
    codes: np.ndarray  # per position


def _account_layout(
    table: PositionTable, symbols: Sequence[str], accounts: Mapping[str, float], default: str
) -> _AccountLayout:
    # A contract's key names its venue unless it is the default one (PositionFrames.key_of).
    venue_of = {i: split_venue(symbols[i])[1] for i in table.symbol_counts}
    others = sorted(({v for v in venue_of.values() if v} | set(accounts)) - {default})
    names = ("", *others)
    if not others:
        return _AccountLayout(names, np.zeros(table.frame.height, dtype=np.intp))
    code = {v: i for i, v in enumerate(names)}
    per_symbol = np.zeros(len(symbols), dtype=np.intp)
    for i, venue in venue_of.items():
        per_symbol[i] = code[venue]
    return _AccountLayout(names, per_symbol[table.symbol_index.to_numpy()])


def _accounts(layout: _AccountLayout, portfolio: Portfolio) -> _Accounts:
    others = (portfolio.accounts.get(v, 0.0) for v in layout.names[1:])
    wallets = np.array([portfolio.collateral_usd, *others], dtype=np.float64)
    return _Accounts(layout.names, layout.codes, wallets)


@dataclass(frozen=True)
class _Evaluated:
    """Per-position figures (the frame) and what the totals and scenario need."""

    frame: pl.DataFrame
    now: Margins
    shocked: Margins
    liquidated: np.ndarray  # in the scenario
    breached: np.ndarray  # accounts, in the scenario
    liquidated_now: np.ndarray
    breached_now: np.ndarray
    shock_down: np.ndarray
    shock_up: np.ndarray
    book: RiskBook


def _nullable(values: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64, nan_to_null=True)


def _evaluate_positions(
    frame: pl.DataFrame,
    tiers: TierMatrix,
    accounts: _Accounts,
    shock: float,
    to_liquidation_of: Callable[[Callable[[], ShockToLiquidation]], ShockToLiquidation],
) -> _Evaluated:
    """Per-position figures now and under the shock (move = shock x beta, capped at -100 %).

    numpy over the columns of the denormalised frame: margin balances and ratios per
    isolated position and per venue's cross account, liquidation prices with the
    tier at the liquidation price, the scenario's liquidations and the shock to
    liquidation. The results go back onto the frame as columns.
    """
    size = frame.get_column("size").to_numpy()
    mark = frame.get_column("mark_price").to_numpy()
    cross = frame.get_column("cross").to_numpy()
    book = RiskBook(
        size=size,
        entry=frame.get_column("entry_price").to_numpy(),
        mark=mark,
        sign=frame.get_column("sign").to_numpy().astype(np.float64),
        beta=frame.get_column("beta").to_numpy(),
        cross=cross,
        isolated_wallet=frame.get_column("wallet").to_numpy(),
        account=accounts.codes,
        account_wallet=accounts.wallets,
        tiers=tiers,
    )
    now = margins_at(book, mark)
    # Betas are finite, so a zero shock moves no price: the same figures, not recomputed.
    shocked = margins_at(book, book.shocked_marks(shock)) if shock else now
    liquidated, breached = shocked.liquidated(book)
    liquidated_now, breached_now = now.liquidated(book) if shock else (liquidated, breached)
    liquidation = liquidation_prices(book, now)
    # The shock to liquidation does not depend on the shock: a shock key reuses it.
    to_liquidation = to_liquidation_of(lambda: shock_to_liquidation(book, liquidation, now))
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(mark > 0, np.abs(mark - liquidation) / mark * 100.0, np.nan)
        initial = now.notional / frame.get_column("leverage").to_numpy()
        # An isolated position's leverage is what its wallet carries: notional at mark
        # over its isolated margin (a cross one shows the leverage it was opened with).
        effective = np.where(
            cross, frame.get_column("leverage").to_numpy(), now.notional / book.isolated_wallet
        )
    spot_price = frame.get_column("spot_price")
    spot_leg = frame.get_column("spot_qty") * (
        spot_price.fill_null(0.0) if spot_price.null_count() else spot_price
    )
    sign = frame.get_column("sign")
    minus_sign = 0 - sign
    notional = pl.Series(now.notional)
    evaluated = frame.hstack(
        [
            notional.alias("notional_usd"),
            (pl.Series(book.sign) * notional).alias("delta_usd"),
            pl.Series(now.upnl).alias("unrealized_pnl_usd"),
            pl.Series(initial).alias("initial_margin_usd"),
            pl.Series(shocked.mark).alias("shocked_mark"),
            spot_leg.alias("spot_leg_usd"),
            pl.Series(now.mmr).alias("mmr"),
            pl.Series(now.cum).alias("cum"),
            pl.Series(now.maintenance).alias("maintenance_margin_usd"),
            pl.Series(shocked.maintenance).alias("shocked_mm"),
            pl.Series(shocked.upnl).alias("shocked_upnl"),
            _nullable(liquidation).alias("liquidation_price"),
            pl.Series(liquidated).alias("liquidated"),
            (minus_sign * notional * frame.get_column("funding_rate")).alias(
                "funding_usd_per_period"
            ),
            (minus_sign * frame.get_column("carry_rate_pct")).alias("carry_apr_pct"),
            pl.Series(np.where(cross, initial, book.isolated_wallet)).alias("margin_usd"),
            pl.Series(now.mmr).alias("maintenance_margin_rate"),
            _nullable(distance).alias("distance_to_liquidation_pct"),
            _nullable(now.position_ratio(book)).alias("margin_ratio"),
            _nullable(to_liquidation.nearest() * 100.0).alias("liquidation_shock_pct"),
            pl.Series(shocked.mark).alias("shocked_mark_price"),
            pl.Series(shocked.upnl).alias("shocked_unrealized_pnl_usd"),
            _nullable(shocked.position_ratio(book)).alias("shocked_margin_ratio"),
            frame.get_column("leverage").alias("set_leverage"),
        ]
    )
    evaluated.replace_column(
        evaluated.get_column_index("leverage"), _nullable(effective).alias("leverage")
    )
    return _Evaluated(
        frame=evaluated,
        now=now,
        shocked=shocked,
        liquidated=liquidated,
        breached=breached,
        liquidated_now=liquidated_now,
        breached_now=breached_now,
        shock_down=to_liquidation.down,
        shock_up=to_liquidation.up,
        book=book,
    )


def _worst_ratio(
    book: RiskBook, margins: Margins, open_positions: np.ndarray, open_accounts: np.ndarray
) -> float | None:
    """The highest margin ratio over the isolated positions and cross accounts still open
    (None when any is undefined; 0 with nothing open)."""
    isolated = ~book.cross & open_positions
    candidates = np.concatenate(
        [
            ratio(margins.maintenance, margins.isolated_balance)[isolated],
            margins.account_ratio()[open_accounts & margins.account_has_cross],
        ]
    )
    if candidates.size == 0:
        return 0.0
    if np.isnan(candidates).any():
        return None
    return float(candidates.max())


def _basis_rows(market: MarketState, settings: Settings) -> LazyRows[BasisRow]:
    """The basis ticker's rows in display order; each row is built when first read
    (a tick moves every quote, and the pane shows a screenful of them)."""
    ordered = sorted(
        ((split_venue(key)[1], q) for key, q in market.contracts.items()),
        key=lambda vq: (
            vq[1].base,
            vq[1].kind != "swap",
            vq[1].expiry_ms or 0,
            vq[1].symbol,
            vq[0],
        ),
    )
    return LazyRows(len(ordered), lambda i: _basis_row(*ordered[i], market, settings))


def _basis_row(
    venue: str, quote: ContractQuote, market: MarketState, settings: Settings
) -> BasisRow:
    # The spot price of the same venue where it quotes one.
    spot_quote = market.spot_quote(quote.base, venue)
    spot = spot_quote.price if spot_quote else None
    futures = quote.mark
    basis = basis_pct = annualized = days = None
    if spot and futures:
        basis = futures - spot
        basis_pct = (futures / spot - 1.0) * 100.0
    if quote.kind == "future" and quote.expiry_ms:
        days = (quote.expiry_ms - market.clock_ms) / DAY_MS
        if basis_pct is not None and days > 0:
            annualized = annualized_basis_pct(basis_pct, days)
    funding_apr = None
    if quote.kind == "swap" and quote.funding_rate is not None:
        interval = quote.funding_interval_h or settings.funding_interval_h
        funding_apr = funding_apr_pct(quote.funding_rate, interval)
    stale = market.is_stale(quote.ts_ms) or (
        spot_quote is None or market.is_stale(spot_quote.ts_ms)
    )
    return BasisRow(
        symbol=quote.symbol,
        asset=quote.base,
        kind=quote.kind,
        spot=spot,
        futures=futures,
        basis=basis,
        basis_pct=basis_pct,
        annualized_pct=annualized,
        days_to_expiry=days,
        funding_rate=quote.funding_rate if quote.kind == "swap" else None,
        funding_apr_pct=funding_apr,
        next_funding_ms=quote.next_funding_ms if quote.kind == "swap" else None,
        stale=stale,
        venue=venue or market.exchange,
    )


def _sum(frame: pl.DataFrame, column: str, mask: pl.Series | None = None) -> float:
    if frame.height == 0:
        return 0.0
    # Series filters: one kernel call each, where DataFrame.filter plans a query.
    series = frame[column].filter(mask) if mask is not None else frame[column]
    return float(series.sum() or 0.0)


def _allocation(pct: float | None, band: Sequence[float]) -> Allocation:
    low, high = float(band[0]), float(band[1])
    in_band = pct is not None and low <= pct <= high
    return Allocation(pct=pct, band=(low, high), in_band=in_band)


def compute(
    portfolio: Portfolio,
    market: MarketState,
    shock_pct: float = 0.0,
    settings: Settings | None = None,
) -> Report:
    """Every figure of the design for this portfolio, market and what-if shock.

    Pure: a fresh engine each call. The app and the command line own a RiskEngine,
    whose caches make the next call after an edit or a tick cheap.
    """
    return RiskEngine().compute(portfolio, market, shock_pct, settings)


class RiskEngine:
    """The risk engine and the caches it keeps between calls (bounded, typed).

    An edit or a tick rebuilds only what it changed: position columns are patched
    by row, market columns built once per market state, and the spot book, the
    asset layout and the basis rows remembered for the same input objects.
    """

    def __init__(self) -> None:
        self.frames = PositionFrames()
        size = MAX_MARKET_TABLES
        self._holdings: IdentityCache[_Holdings] = IdentityCache(size)
        self._spot_books: IdentityCache[_SpotBook] = IdentityCache(size)
        self._layouts: IdentityCache[_AssetLayout] = IdentityCache(size)
        self._core_values: IdentityCache[np.ndarray] = IdentityCache(size)
        self._slots: IdentityCache[_PositionSlots] = IdentityCache(size)
        self._basis: IdentityCache[LazyRows[BasisRow]] = IdentityCache(size)
        self._account_layouts: IdentityCache[_AccountLayout] = IdentityCache(size)
        self._accounts: IdentityCache[_Accounts] = IdentityCache(size)
        self._tier_matrices: IdentityCache[TierMatrix] = IdentityCache(size)
        self._to_liquidation: IdentityCache[ShockToLiquidation] = IdentityCache(size)

    def clear(self) -> None:
        """Forget every cached table (the next compute() builds afresh)."""
        self.frames.clear()
        self._holdings.clear()
        for cache in (self._spot_books, self._layouts, self._core_values, self._slots):
            cache.clear()
        self._basis.clear()
        self._account_layouts.clear()
        self._accounts.clear()
        self._tier_matrices.clear()
        self._to_liquidation.clear()

    def compute(
        self,
        portfolio: Portfolio,
        market: MarketState,
        shock_pct: float = 0.0,
        settings: Settings | None = None,
    ) -> Report:
        """Every figure of the design for this portfolio, market and what-if shock."""
        settings = settings or _DEFAULT_SETTINGS
        if self.frames.needs_compaction():
            # The symbol table only grows; past its bound, start again from this book.
            self.clear()
        return _compute(self, portfolio, market, shock_pct / 100.0, shock_pct, settings)


def _compute(
    engine: RiskEngine,
    portfolio: Portfolio,
    market: MarketState,
    shock: float,
    shock_pct: float,
    settings: Settings,
) -> Report:
    # Spot book (core holdings): plain Python, once per holdings, market and settings.
    holdings = engine._holdings.get(
        (portfolio.holdings, settings), lambda: _holdings_layout(portfolio.holdings, settings)
    )
    spot = engine._spot_books.get((holdings, market), lambda: _spot_book(holdings, market))
    warnings = list(spot.warnings)

    inputs = _position_frame(engine.frames, portfolio, market, settings, warnings)
    table = inputs.table
    names = engine.frames.symbols.names
    account_layout = engine._account_layouts.get(
        (table.symbol_index, portfolio.accounts, market.exchange),
        lambda: _account_layout(table, names, portfolio.accounts, market.exchange),
    )
    accounts = engine._accounts.get(
        (account_layout, portfolio), lambda: _accounts(account_layout, portfolio)
    )
    # The tiers of each position follow from its contract and the market's tier tables.
    tiers = engine._tier_matrices.get(
        (table.symbol_index, inputs.tiers.table, inputs.n_tiers),
        lambda: _tier_matrix(inputs.frame, inputs.n_tiers, inputs.tiers),
    )
    evaluated = _evaluate_positions(
        inputs.frame,
        tiers,
        accounts,
        shock,
        lambda build: engine._to_liquidation.get((table, inputs.prices, accounts), build),
    )
    venue_names = tuple(v or market.exchange or "default" for v in accounts.names)
    frame = evaluated.frame
    if frame.height:
        shown = (
            pl.Series("venue", venue_names[:1], dtype=pl.String).new_from_index(0, frame.height)
            if len(venue_names) == 1
            else pl.Series(
                "venue", np.array(venue_names, dtype=object)[accounts.codes], dtype=pl.String
            )
        )
        frame.replace_column(frame.get_column_index("venue"), shown)
    now, risk = evaluated.now, evaluated.book

    spot_value = spot.spot_value
    core_value = spot.core_value
    spot_legs = _sum(frame, "spot_leg_usd")
    isolated_margin = _sum(frame, "wallet")
    upnl = _sum(frame, "unrealized_pnl_usd")
    maintenance = _sum(frame, "maintenance_margin_usd")
    wallets = float(accounts.wallets.sum())
    equity = spot_value + spot_legs + wallets + isolated_margin + upnl
    every_position = np.ones(frame.height, dtype=bool)
    every_account = np.ones(len(accounts.names), dtype=bool)
    margin_ratio = _worst_ratio(risk, now, every_position, every_account)
    account_ratios = now.account_ratio()
    cross_ratio = None if np.isnan(account_ratios).any() else float(account_ratios.max(initial=0.0))
    account_rows = tuple(
        AccountRow(
            venue=name,
            collateral_usd=float(wallet),
            cross_margin_ratio=None if np.isnan(r) else float(r),
            health=_health(None if np.isnan(r) else float(r), settings),
        )
        for name, wallet, r in zip(venue_names, accounts.wallets, account_ratios, strict=True)
    )
    down = evaluated.shock_down[np.isfinite(evaluated.shock_down)]
    up = evaluated.shock_up[np.isfinite(evaluated.shock_up)]
    shock_down_pct = round(float(down.max()) * 100.0, 2) if down.size else None
    shock_up_pct = round(float(up.min()) * 100.0, 2) if up.size else None

    # Per-asset exposure: core spot, basis spot legs and futures deltas. The asset
    # list and betas only change with the book's assets, so they are
    # laid out once; per call the positions are summed by integer asset slot.
    layout = engine._layouts.get(
        (table.symbol_counts, portfolio.holdings, settings),
        lambda: _asset_layout(names, table.symbol_counts, portfolio.holdings, settings),
    )
    core_usd = engine._core_values.get((layout, spot), lambda: _core_values(layout, spot))
    slots = engine._slots.get(
        (table.symbol_index, layout), lambda: _PositionSlots.of(table, layout)
    )
    warnings.extend(layout.warnings)
    n_assets = len(layout.names)
    leg_sum: np.ndarray = np.zeros(n_assets)
    delta_sum: np.ndarray = np.zeros(n_assets)
    hedge_sum: np.ndarray = np.zeros(n_assets)
    hedge_book, hedge_rows = table.in_book("hedge")
    delta = frame["delta_usd"].to_numpy()
    if frame.height and slots.any_in_layout:
        # bincount adds each asset's rows in frame order, starting from 0.0: the same
        # sum every time for the same book (a parallel group_by's last bits vary), and
        # a direct kernel call where a polars group_by or window plans a query.
        bins = n_assets + 1  # the last bin collects stablecoin positions
        leg_sum = np.bincount(slots.codes, frame["spot_leg_usd"].to_numpy(), bins)[:n_assets]
        delta_sum = np.bincount(slots.codes, delta, bins)[:n_assets]
        hedges = np.where(hedge_rows, delta, 0.0)
        hedge_sum = np.bincount(slots.codes, hedges, bins)[:n_assets]
    # Same additions, in the same order, as summing row by row from 0.0.
    spot_usd = core_usd + leg_sum
    futures_usd = delta_sum + 0.0
    net_usd = spot_usd + futures_usd
    beta_weighted_usd = net_usd * layout.beta
    has_core = core_usd != 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        hedge_ratio = np.where(has_core, (0.0 - (hedge_sum + 0.0)) / core_usd, np.nan)
    net_exposure = sum(net_usd.tolist(), 0.0)
    futures_gross = 0.0
    if frame.height and slots.any_in_layout:
        # Positions outside the layout are the stablecoin ones: not exposure.
        futures_gross = float(np.abs(delta[slots.in_layout]).sum())
    gross = sum(np.abs(spot_usd).tolist(), 0.0) + futures_gross
    beta_weighted = sum(beta_weighted_usd.tolist(), 0.0)

    if frame.height and n_assets:
        # NaN marks "no core holding": shown as missing, like a ratio of NaN prices.
        per_position = pl.Series(
            np.where(
                has_core[slots.slot_of_row] & slots.in_layout,
                hedge_ratio[slots.slot_of_row],
                np.nan,
            ),
            dtype=pl.Float64,
            nan_to_null=True,
        )
    else:
        per_position = pl.Series([None] * frame.height, dtype=pl.Float64)
    frame = frame.hstack([per_position.alias("hedge_ratio")])

    def asset_rows() -> tuple[AssetRow, ...]:
        ratios = hedge_ratio.tolist()
        return tuple(
            AssetRow(
                asset=asset,
                spot_usd=spot_value,
                futures_usd=futures_value,
                net_usd=net,
                beta=beta,
                beta_assumed=assumed,
                beta_weighted_usd=weighted,
                hedge_ratio=ratios[i] if has_core[i] else None,
            )
            for i, (asset, spot_value, futures_value, net, beta, assumed, weighted) in enumerate(
                zip(
                    layout.names,
                    spot_usd.tolist(),
                    futures_usd.tolist(),
                    net_usd.tolist(),
                    layout.beta.tolist(),
                    layout.assumed,
                    beta_weighted_usd.tolist(),
                    strict=True,
                )
            )
        )

    def holding_rows() -> tuple[HoldingRow, ...]:
        return tuple(
            HoldingRow(asset, qty, price, value, _pct_of(value, equity), *rest)
            for asset, qty, price, value, *rest in spot.rows()
        )

    alpha_book, _ = table.in_book("alpha")
    hedge_notional = _sum(frame, "notional_usd", hedge_book)
    alpha_margin = _sum(frame, "margin_usd", alpha_book) + _sum(frame, "spot_leg_usd", alpha_book)
    bands = settings.bands
    allocation = {
        "core": _allocation(_pct_of(core_value, equity), bands["core"]),
        "hedge": _allocation(
            _pct_of(hedge_notional, core_value)
            if core_value > 0
            else (0.0 if not hedge_notional else None),
            bands["hedge"],
        ),
        "alpha": _allocation(_pct_of(alpha_margin, equity), bands["alpha"]),
    }

    # Scenario: BTC moves by s, every other asset by beta x s (stablecoins: 0); like the
    # futures marks, no price falls below zero, so a move is capped at -100 %.
    spot_pnl = (
        sum((spot.value * np.maximum(shock * spot.holdings.beta, -1.0)).tolist()) if shock else 0.0
    )
    if frame.height and shock:
        legs_pnl = frame["spot_leg_usd"] * at_least(frame["beta"] * shock, MINUS_ONE)
        spot_pnl += float(legs_pnl.sum() or 0.0)
    # Futures: open positions move with the marks; a liquidated isolated position loses
    # its whole margin balance at current prices, a breached cross account its wallet
    # and the balance of all its positions; never more.
    shocked = evaluated.shocked
    gone, breached = evaluated.liquidated, evaluated.breached
    isolated_gone = gone & ~risk.cross
    futures_pnl = float(
        np.where(gone, 0.0, shocked.upnl - now.upnl).sum()
        - now.isolated_balance[isolated_gone].sum()
        - now.account_balance[breached & now.account_has_cross].sum()
    )
    shocked_equity = equity + spot_pnl + futures_pnl
    shocked_ratio = _worst_ratio(risk, shocked, ~gone, ~breached)
    liquidated = tuple(frame["id"].filter(frame["liquidated"]).to_list()) if frame.height else ()
    scenario = Scenario(
        shock_pct=shock_pct,
        pnl_usd=spot_pnl + futures_pnl,
        equity=shocked_equity,
        margin_ratio=shocked_ratio,
        health=_health(shocked_ratio, settings),
        liquidated=liquidated,
    )

    totals = Totals(
        equity=equity,
        net_exposure_usd=net_exposure,
        net_exposure_pct=_pct_of(net_exposure, equity),
        beta_weighted_exposure_usd=beta_weighted,
        gross_exposure_usd=gross,
        margin_ratio=margin_ratio,
        health=_health(margin_ratio, settings),
        cross_margin_ratio=cross_ratio,
        liquidation_shock_down_pct=shock_down_pct,
        liquidation_shock_up_pct=shock_up_pct,
        spot_value_usd=spot_value + spot_legs,
        collateral_usd=portfolio.collateral_usd,
        isolated_margin_usd=isolated_margin,
        unrealized_pnl_usd=upnl,
        initial_margin_usd=_sum(frame, "initial_margin_usd"),
        maintenance_margin_usd=maintenance,
        funding_usd_per_period=float(frame["funding_usd_per_period"].sum())
        if frame.height
        else 0.0,
    )
    return Report(
        totals=totals,
        holdings_of=holding_rows,
        assets_of=asset_rows,
        basis_rows=engine._basis.get((market, settings), lambda: _basis_rows(market, settings)),
        allocation=allocation,
        scenario=scenario,
        accounts=account_rows,
        warnings=tuple(dict.fromkeys(warnings)),
        clock_ms=market.clock_ms,
        feed_status=market.status,
        note=market.note,
        position_frame=frame,
        liquidated_in_scenario=frozenset(liquidated),
    )
