"""Immutable domain model: the portfolio, the market state and engine settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

Side = Literal["long", "short"]
MarginMode = Literal["isolated", "cross"]
Book = Literal["hedge", "alpha"]
PositionKind = Literal["future", "basis"]
FeedStatus = Literal["live", "stale", "offline", "replay"]

BOOKS: tuple[Book, ...] = ("hedge", "alpha")
SIDES: tuple[Side, ...] = ("long", "short")
MARGIN_MODES: tuple[MarginMode, ...] = ("isolated", "cross")

_EMPTY: Mapping = MappingProxyType({})


def frozen_map(items: Mapping | None = None) -> Mapping:
    """A read-only view of a copy of `items`."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Holding:
    """A spot asset (or stablecoin cash) in the core book."""

    asset: str
    qty: float
    cost_usd: float | None = None
    venue: str = ""  # "" is the default venue (the first followed exchange)
    note: str = ""
    # Keys the user wrote that the app does not use: kept and written back on save.
    extra: Mapping = field(default_factory=lambda: _EMPTY, compare=False, hash=False)


@dataclass(frozen=True)
class Position:
    """A futures position in the hedge or alpha book; kind 'basis' adds a spot leg."""

    id: str
    book: Book
    symbol: str
    side: Side
    size: float
    entry_price: float
    leverage: float
    margin_mode: MarginMode = "isolated"
    margin_usd: float | None = None
    kind: PositionKind = "future"
    spot_qty: float = 0.0
    venue: str = ""  # "" is the default venue (the first followed exchange)
    note: str = ""
    extra: Mapping = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1

    @property
    def base(self) -> str:
        return base_asset(self.symbol)

    def isolated_margin(self) -> float:
        """Isolated wallet balance: given, or entry notional / leverage."""
        if self.margin_usd is not None:
            return self.margin_usd
        return self.size * self.entry_price / self.leverage


@dataclass(frozen=True)
class Portfolio:
    """The whole book: cross-margin collateral, spot holdings, futures positions."""

    collateral_usd: float = 0.0
    holdings: tuple[Holding, ...] = ()
    positions: tuple[Position, ...] = ()
    # Cross wallets of the other venues ([accounts.<venue>] collateral_usd).
    accounts: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    account_extra: Mapping = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    def book(self, name: Book) -> tuple[Position, ...]:
        return tuple(p for p in self.positions if p.book == name)

    def position(self, position_id: str) -> Position:
        for p in self.positions:
            if p.id == position_id:
                return p
        raise KeyError(position_id)

    def replace_position(self, position_id: str, new: Position) -> Portfolio:
        return replace(
            self,
            positions=tuple(new if p.id == position_id else p for p in self.positions),
        )


DAY_MS = 86_400_000


def base_asset(symbol: str) -> str:
    """Base asset of a ccxt unified symbol: 'BTC/USDT:USDT-251226' -> 'BTC'."""
    return symbol.split("/", 1)[0]


# Where a contract's tiers come from (besides "snapshot of DATE"): one spelling each.
TIERS_LIVE = "live"
TIERS_RECORDED = "recorded"
TIERS_DEFAULT = "default rate"

# Quotes of the venues other than the default one are kept under "<symbol>@<venue>"
# (contracts, tiers) and "<asset>@<venue>" (spot): one flat MarketState for the book.
VENUE_SEPARATOR = "@"


def venue_key(name: str, venue: str) -> str:
    """The key of a symbol or an asset on a venue ('' is the default venue)."""
    return f"{name}{VENUE_SEPARATOR}{venue}" if venue else name


def split_venue(key: str) -> tuple[str, str]:
    """'BTC/USDT:USDT@bybit' -> ('BTC/USDT:USDT', 'bybit'); no venue -> (key, '')."""
    name, _, venue = key.partition(VENUE_SEPARATOR)
    return name, venue


def is_dated_symbol(symbol: str) -> bool:
    """'BTC/USDT:USDT-251226' has an expiry; 'BTC/USDT:USDT' is a perpetual."""
    return "-" in split_venue(symbol)[0].split(":")[-1]


def is_inverse_symbol(symbol: str) -> bool:
    """'BTC/USD:BTC' settles in its base asset: a coin-settled (inverse) contract."""
    base, _, rest = split_venue(symbol)[0].partition("/")
    return rest.partition(":")[2].split("-", 1)[0] == base


@dataclass(frozen=True)
class Tier:
    """One leverage / maintenance-margin bracket of a contract (USD notional)."""

    min_notional: float
    max_notional: float
    mmr: float
    max_leverage: float | None = None
    cum: float = 0.0


@dataclass(frozen=True)
class SpotQuote:
    """Latest spot price of an asset (the `last` of its spot ticker)."""

    asset: str
    symbol: str
    price: float | None
    change_24h_pct: float | None = None
    ts_ms: int = 0


@dataclass(frozen=True)
class ContractQuote:
    """A perpetual or dated future: its market facts and latest prices."""

    symbol: str
    base: str
    kind: Literal["swap", "future"]
    linear: bool = True
    contract_size: float = 1.0
    expiry_ms: int | None = None
    mark: float | None = None
    index: float | None = None
    last: float | None = None
    funding_rate: float | None = None
    funding_interval_h: float | None = None
    next_funding_ms: int | None = None
    ts_ms: int = 0


@dataclass(frozen=True)
class MarketState:
    """Everything known about the market at `clock_ms` (immutable)."""

    clock_ms: int = 0
    exchange: str = ""
    spot: Mapping[str, SpotQuote] = field(default_factory=lambda: _EMPTY)
    contracts: Mapping[str, ContractQuote] = field(default_factory=lambda: _EMPTY)
    tiers: Mapping[str, tuple[Tier, ...]] = field(default_factory=lambda: _EMPTY)
    status: FeedStatus = "replay"
    stale_after_ms: int = 120_000
    note: str = ""
    # Where a contract's tiers come from when the feed knows ("live", "snapshot of DATE"):
    # provenance, not market data, so a replay of a recording still equals the live state.
    tier_sources: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False)

    def spot_price(self, asset: str) -> float | None:
        quote = self.spot.get(asset)
        return quote.price if quote else None

    def mark(self, symbol: str) -> float | None:
        quote = self.contracts.get(symbol)
        return quote.mark if quote else None

    def tier_source(self, key: str) -> str:
        """live / snapshot of DATE / recorded (a replay's own) / default rate."""
        if not self.tiers.get(key):
            return TIERS_DEFAULT
        return self.tier_sources.get(key) or (
            TIERS_RECORDED if self.status == "replay" else TIERS_LIVE
        )

    def venue_of(self, venue: str) -> str:
        """'' for the default venue (this state's exchange), else the venue's name."""
        return "" if not venue or venue == self.exchange else venue

    def contract_key(self, symbol: str, venue: str) -> str:
        """Where a position's contract is quoted: its own venue's contract."""
        return venue_key(symbol, self.venue_of(venue))

    def spot_quote(self, asset: str, venue: str = "") -> SpotQuote | None:
        """An asset's spot quote: its venue's ticker, else the default venue's, else the
        first other venue that quotes it."""
        own = self.venue_of(venue)
        quote = self.spot.get(venue_key(asset, own)) if own else None
        if quote is None or quote.price is None:
            quote = self.spot.get(asset) or quote
        if quote is None and self.spot:
            prefix = asset + VENUE_SEPARATOR
            quote = next((q for k, q in sorted(self.spot.items()) if k.startswith(prefix)), None)
        return quote

    def is_stale(self, ts_ms: int) -> bool:
        """A quote is stale when the feed is not fresh or the quote is too old."""
        if self.status in ("stale", "offline"):
            return True
        return ts_ms <= 0 or self.clock_ms - ts_ms > self.stale_after_ms


@dataclass(frozen=True)
class Settings:
    """Engine settings from config.toml."""

    betas: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    bands: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: frozen_map(
            {"core": (40.0, 70.0), "hedge": (0.0, 30.0), "alpha": (10.0, 30.0)}
        )
    )
    margin_ratio_warn: float = 0.5
    margin_ratio_danger: float = 0.8
    stablecoins: tuple[str, ...] = ("USDT", "USDC", "DAI", "FDUSD", "USD")
    default_mmr: float = 0.005
    funding_interval_h: float = 8.0
