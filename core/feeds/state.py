"""Fold ccxt unified objects (markets, tickers, funding, tiers) into a MarketState."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from core.margin import with_maintenance_amounts
from core.model import ContractQuote, FeedStatus, MarketState, SpotQuote, Tier, frozen_map

EVENT_TYPES = ("market", "ticker", "funding", "tiers")
SPOT_QUOTES = ("USDT", "USDC", "USD", "FDUSD")
_EXPIRY = re.compile(r"-(\d{6})$")


def _number(value: Any) -> float | None:
    """A finite float, or None for missing / non-numeric / NaN values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _interval_hours(value: Any) -> float | None:
    """'8h' -> 8.0, '1h' -> 1.0; None when absent or unreadable."""
    if isinstance(value, str) and value.endswith("h"):
        return _number(value[:-1])
    return _number(value)


def expiry_from_symbol(symbol: str) -> int | None:
    """Expiry (ms, 08:00 UTC as on Binance) from 'BTC/USDT:USDT-251226'."""
    match = _EXPIRY.search(symbol)
    if not match:
        return None
    day = dt.datetime.strptime(match.group(1), "%y%m%d").replace(hour=8, tzinfo=dt.UTC)
    return int(day.timestamp() * 1000)


class MarketStateBuilder:
    """Keeps the latest object of each kind per symbol; `state()` snapshots it."""

    def __init__(self, exchange: str = "") -> None:
        self.exchange = exchange
        self.clock_ms = 0
        self.markets: dict[str, dict[str, Any]] = {}
        self.tickers: dict[str, dict[str, Any]] = {}
        self.funding: dict[str, dict[str, Any]] = {}
        self.tiers: dict[str, tuple[Tier, ...]] = {}
        self.ts: dict[str, int] = {}

    def apply(self, event: Mapping[str, Any]) -> None:
        """Apply one replay event {'ts', 'type', 'data', 'symbol'?}."""
        kind = event.get("type")
        data = event.get("data")
        ts = int(event.get("ts") or 0)
        if event.get("exchange"):
            self.exchange = str(event["exchange"])
        self.clock_ms = max(self.clock_ms, ts)
        if kind == "market" and isinstance(data, Mapping):
            self.add_market(data)
        elif kind == "ticker" and isinstance(data, Mapping):
            self.add_ticker(data, ts)
        elif kind == "funding" and isinstance(data, Mapping):
            self.add_funding(data, ts)
        elif kind == "tiers" and isinstance(data, list):
            self.add_tiers(str(event.get("symbol") or ""), data)
        else:
            raise ValueError(f"unknown event type {kind!r} or malformed data")

    def add_market(self, market: Mapping[str, Any]) -> None:
        self.markets[str(market["symbol"])] = dict(market)

    def add_ticker(self, ticker: Mapping[str, Any], ts: int = 0) -> None:
        symbol = str(ticker["symbol"])
        self.tickers[symbol] = dict(ticker)
        self.ts[symbol] = max(ts, int(_number(ticker.get("timestamp")) or 0))
        self.clock_ms = max(self.clock_ms, self.ts[symbol])

    def add_funding(self, funding: Mapping[str, Any], ts: int = 0) -> None:
        symbol = str(funding["symbol"])
        self.funding[symbol] = dict(funding)
        stamp = max(ts, int(_number(funding.get("timestamp")) or 0))
        self.ts[symbol] = max(self.ts.get(symbol, 0), stamp)
        self.clock_ms = max(self.clock_ms, stamp)

    def add_tiers(self, symbol: str, tiers: Iterable[Mapping[str, Any]]) -> None:
        parsed = []
        for tier in tiers:
            mmr = _number(tier.get("maintenanceMarginRate"))
            if mmr is None:
                continue
            parsed.append(
                Tier(
                    min_notional=_number(tier.get("minNotional")) or 0.0,
                    max_notional=_number(tier.get("maxNotional")) or math.inf,
                    mmr=mmr,
                    max_leverage=_number(tier.get("maxLeverage")),
                )
            )
        if symbol and parsed:
            self.tiers[symbol] = with_maintenance_amounts(parsed)

    def state(self, status: FeedStatus = "replay", note: str = "") -> MarketState:
        spot: dict[str, SpotQuote] = {}
        contracts: dict[str, ContractQuote] = {}
        for symbol in sorted(set(self.tickers) | set(self.funding)):
            market = self.markets.get(symbol, {})
            ticker = self.tickers.get(symbol, {})
            funding = self.funding.get(symbol, {})
            ts = self.ts.get(symbol, 0)
            if ":" not in symbol:
                self._add_spot(spot, symbol, ticker, ts)
                continue
            contracts[symbol] = self._contract(symbol, market, ticker, funding, ts)
        return MarketState(
            clock_ms=self.clock_ms,
            exchange=self.exchange,
            spot=frozen_map(spot),
            contracts=frozen_map(contracts),
            tiers=frozen_map(self.tiers),
            status=status,
            note=note,
        )

    @staticmethod
    def _add_spot(
        spot: dict[str, SpotQuote], symbol: str, ticker: Mapping[str, Any], ts: int
    ) -> None:
        base, _, quote = symbol.partition("/")
        if quote not in SPOT_QUOTES:
            return
        known = spot.get(base)
        # Prefer the USDT pair when an asset is quoted in several stablecoins.
        if known is not None and known.symbol.endswith("/USDT"):
            return
        spot[base] = SpotQuote(
            asset=base,
            symbol=symbol,
            price=_number(ticker.get("last")),
            change_24h_pct=_number(ticker.get("percentage")),
            ts_ms=ts,
        )

    @staticmethod
    def _contract(
        symbol: str,
        market: Mapping[str, Any],
        ticker: Mapping[str, Any],
        funding: Mapping[str, Any],
        ts: int,
    ) -> ContractQuote:
        expiry = _number(market.get("expiry"))
        expiry_ms = int(expiry) if expiry else expiry_from_symbol(symbol)
        kind = market.get("type") or ("future" if expiry_ms else "swap")
        settle = symbol.split(":", 1)[1].split("-", 1)[0]
        base = str(market.get("base") or symbol.split("/", 1)[0])
        linear = market.get("linear")
        if linear is None:
            linear = settle != base
        mark = (
            _number(ticker.get("markPrice"))
            or _number(funding.get("markPrice"))
            or _number(ticker.get("last"))
        )
        next_funding = _number(funding.get("nextFundingTimestamp")) or _number(
            funding.get("fundingTimestamp")
        )
        return ContractQuote(
            symbol=symbol,
            base=base,
            kind="future" if kind == "future" else "swap",
            linear=bool(linear),
            contract_size=_number(market.get("contractSize")) or 1.0,
            expiry_ms=expiry_ms if kind == "future" else None,
            mark=mark,
            index=_number(ticker.get("indexPrice")) or _number(funding.get("indexPrice")),
            last=_number(ticker.get("last")),
            funding_rate=_number(funding.get("fundingRate")),
            funding_interval_h=_interval_hours(funding.get("interval")),
            next_funding_ms=int(next_funding) if next_funding else None,
            ts_ms=ts,
        )


def with_status(market: MarketState, status: FeedStatus, note: str | None = None) -> MarketState:
    """The same market state under another feed status (and note)."""
    return replace(market, status=status, note=market.note if note is None else note)
