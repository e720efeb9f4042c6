"""Fold ccxt unified objects (markets, tickers, funding, tiers) into a MarketState."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from core.feeds.venues import merge_venues
from core.margin import with_maintenance_amounts
from core.model import ContractQuote, FeedStatus, MarketState, SpotQuote, Tier, frozen_map

EVENT_TYPES = ("market", "ticker", "funding", "tiers")
SPOT_QUOTES = ("USDT", "USDC", "USD", "FDUSD")
_EXPIRY = re.compile(r"-(\d{6})$")
# ccxt unified symbols: 'BTC/USDT', '1000PEPE/USDT:USDT', 'BTC/USDT:USDT-251226'.
_SYMBOL = re.compile(r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$")
# Timestamps (ms) outside 2000-01-01 .. 2100-01-01 UTC are garbage, not market data.
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000
MAX_SYMBOL_LENGTH = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9._/:-]")
# Prices above this (USD) are garbage; below 0 or at 0 they are impossible.
MAX_PRICE = 1e12
# A funding rate of 100 % per period is not a market; it is a broken payload.
MAX_FUNDING_RATE = 1.0
# How many dropped items the note names before it only counts the rest.
NOTE_NAMES = 3
_TICKER_PRICES = ("last", "markPrice", "indexPrice", "bid", "ask", "close")
_FUNDING_PRICES = ("markPrice", "indexPrice")
_FUNDING_TIMES = ("timestamp", "fundingTimestamp", "nextFundingTimestamp")


class BadMarketData(ValueError):
    """One object of market data that is dropped; the message says why."""


def _number(value: Any) -> float | None:
    """A finite float, or None for missing / non-numeric / NaN values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _interval_hours(value: Any) -> float | None:
    """'8h' -> 8.0, '1h' -> 1.0; None when absent or unreadable."""
    if isinstance(value, str) and value.endswith("h"):
        hours = _number(value[:-1])
    else:
        hours = _number(value)
    return hours if hours is not None and 0 < hours <= 24 * 7 else None


def expiry_from_symbol(symbol: str) -> int | None:
    """Expiry (ms, 08:00 UTC as on Binance) from 'BTC/USDT:USDT-251226'.

    Raises BadMarketData for a date that does not exist ('-999999').
    """
    match = _EXPIRY.search(symbol)
    if not match:
        return None
    expiry = _expiry_ms(match.group(1))
    if expiry is None:
        raise BadMarketData(f"impossible expiry {match.group(1)!r} in the symbol")
    return expiry


@functools.lru_cache(maxsize=4096)
def _expiry_ms(digits: str) -> int | None:
    """'251226' -> 08:00 UTC that day in ms; None for a date that does not exist.

    Cached: strptime costs ~10 µs, and a replay or a portfolio names the same
    few hundred expiries on thousands of lines.
    """
    try:
        day = dt.datetime.strptime(digits, "%y%m%d").replace(hour=8, tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(day.timestamp() * 1000)


def symbol_problem(symbol: Any) -> str | None:
    """Why `symbol` cannot name a market (None when it can)."""
    if not isinstance(symbol, str) or not symbol.strip():
        return "no symbol"
    if len(symbol) > MAX_SYMBOL_LENGTH or not _SYMBOL.match(symbol):
        return "not a market symbol"
    try:
        expiry_from_symbol(symbol)
    except BadMarketData as exc:
        return str(exc)
    return None


def timestamp_problem(value: Any) -> str | None:
    """Why a timestamp (ms) is not one of 2000-2100 (None when absent or fine)."""
    if value is None:
        return None
    number = _number(value)
    if number is None or not MIN_TS_MS <= number < MAX_TS_MS:
        return f"timestamp {_short(value)} is outside 2000-2100"
    return None


def price_problem(key: str, value: Any) -> str | None:
    """Why a price field is not a usable price (None when absent or fine)."""
    if value is None:
        return None
    number = _number(value)
    if number is None:
        return f"{key} {_short(value)} is not a finite number"
    if number <= 0:
        return f"{key} {number:g} <= 0"
    if number > MAX_PRICE:
        return f"{key} {number:g} is beyond any price"
    return None


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 40 else text[:39] + "…"


def _symbol_of(data: Mapping[str, Any], given: Any = None) -> str:
    symbol = given if given is not None else data.get("symbol")
    problem = symbol_problem(symbol)
    if problem:
        raise BadMarketData(problem)
    return str(symbol)


class MarketStateBuilder:
    """Keeps the latest object of each kind per symbol; `state()` snapshots it.

    Bad market data (a price <= 0 or not finite, a timestamp outside 2000-2100,
    an impossible expiry, a payload of the wrong shape) is dropped, never
    applied: the last good object stays, and the state's note names the symbol.
    A quote's time is when it was received (the event's `ts`), never the
    exchange's own clock, which may run ahead.
    """

    def __init__(self, exchange: str = "") -> None:
        self.exchange = exchange
        self.clock_ms = 0
        self.markets: dict[str, dict[str, Any]] = {}
        self.tickers: dict[str, dict[str, Any]] = {}
        self.funding: dict[str, dict[str, Any]] = {}
        self.tiers: dict[str, tuple[Tier, ...]] = {}
        self.ts: dict[str, int] = {}
        # (kind, symbol) -> why its latest object was dropped; a good one clears it.
        self.dropped: dict[tuple[str, str], str] = {}
        self.accepted = 0
        # Events of other exchanges than this (the default) one: a builder each.
        self.others: dict[str, MarketStateBuilder] = {}

    def apply(self, event: Mapping[str, Any]) -> bool:
        """Apply one replay event {'ts', 'type', 'data', 'symbol'?}; False if dropped.

        An unknown event type raises ValueError (the file is not a replay file);
        bad data in a known type is dropped with a note.
        """
        kind = event.get("type")
        if kind not in EVENT_TYPES:
            raise ValueError(f"unknown event type {kind!r}")
        venue = event.get("exchange")
        venue = venue[:40] if isinstance(venue, str) and venue.isprintable() else ""
        venue = venue.strip()
        if venue and not self.exchange:
            self.exchange = venue  # the first exchange named is the default venue
        if venue and venue != self.exchange:
            other = self.others.setdefault(venue, MarketStateBuilder(venue))
            applied = other.apply(event)
            if applied:
                self.clock_ms = max(self.clock_ms, other.clock_ms)
                self.accepted += 1
            return applied
        data = event.get("data")
        label = self._label(kind, event, data)
        try:
            ts = event.get("ts")
            if isinstance(ts, bool) or not isinstance(ts, int):
                raise BadMarketData("'ts' is not an integer (ms)")
            problem = timestamp_problem(ts)
            if problem:
                raise BadMarketData(problem)
            if kind == "tiers":
                if not isinstance(data, list):
                    raise BadMarketData("tiers are not a list")
                self.add_tiers(_symbol_of({}, event.get("symbol")), data)
            elif not isinstance(data, Mapping):
                raise BadMarketData(f"{kind} data is not an object")
            elif kind == "market":
                self.add_market(data)
            elif kind == "ticker":
                self.add_ticker(data, ts)
            else:
                self.add_funding(data, ts)
        except BadMarketData as exc:
            self.dropped[(kind, label)] = str(exc)
            return False
        self.dropped.pop((kind, label), None)
        self.clock_ms = max(self.clock_ms, ts)
        self.accepted += 1
        return True

    @staticmethod
    def _label(kind: str, event: Mapping[str, Any], data: Any) -> str:
        """The symbol an event is about, for the note ('?' when it has none)."""
        symbol = event.get("symbol") if kind == "tiers" else None
        if symbol is None and isinstance(data, Mapping):
            symbol = data.get("symbol")
        if isinstance(symbol, str) and symbol:
            # Named in a note shown on screen: only the characters a symbol may hold.
            return _UNSAFE.sub("?", symbol[:MAX_SYMBOL_LENGTH])
        return "?"

    def add_market(self, market: Mapping[str, Any]) -> None:
        symbol = _symbol_of(market)
        expiry = market.get("expiry")
        if expiry is not None:
            problem = timestamp_problem(expiry)
            if problem:
                raise BadMarketData(f"expiry {problem.removeprefix('timestamp ')}")
        size = market.get("contractSize")
        if size is not None and not (_number(size) or 0) > 0:
            raise BadMarketData(f"contractSize {_short(size)} is not a positive number")
        self.markets[symbol] = dict(market)

    def add_ticker(self, ticker: Mapping[str, Any], ts: int = 0) -> None:
        symbol = _symbol_of(ticker)
        for key in _TICKER_PRICES:
            problem = price_problem(key, ticker.get(key))
            if problem:
                raise BadMarketData(problem)
        problem = timestamp_problem(ticker.get("timestamp"))
        if problem:
            raise BadMarketData(problem)
        if ticker.get("percentage") is not None and _number(ticker.get("percentage")) is None:
            raise BadMarketData(f"percentage {_short(ticker.get('percentage'))} is not a number")
        self.tickers[symbol] = dict(ticker)
        # Received at `ts`; with no event time (a direct call) the ticker's own.
        self.ts[symbol] = ts or int(_number(ticker.get("timestamp")) or 0)

    def add_funding(self, funding: Mapping[str, Any], ts: int = 0) -> None:
        symbol = _symbol_of(funding)
        for key in _FUNDING_PRICES:
            problem = price_problem(key, funding.get(key))
            if problem:
                raise BadMarketData(problem)
        for key in _FUNDING_TIMES:
            problem = timestamp_problem(funding.get(key))
            if problem:
                raise BadMarketData(f"{key}: {problem}")
        rate = funding.get("fundingRate")
        if rate is not None:
            number = _number(rate)
            if number is None or abs(number) >= MAX_FUNDING_RATE:
                raise BadMarketData(f"fundingRate {_short(rate)} is not a funding rate")
        self.funding[symbol] = dict(funding)
        stamp = ts or int(_number(funding.get("timestamp")) or 0)
        self.ts[symbol] = max(self.ts.get(symbol, 0), stamp)

    def add_tiers(self, symbol: str, tiers: Iterable[Any]) -> None:
        parsed = []
        for number, tier in enumerate(tiers, start=1):
            if not isinstance(tier, Mapping):
                raise BadMarketData(f"tier {number} is not an object")
            mmr = _number(tier.get("maintenanceMarginRate"))
            if mmr is None or not 0 <= mmr < 1:
                raise BadMarketData(f"tier {number}: maintenanceMarginRate is not a fraction")
            floor = _number(tier.get("minNotional")) or 0.0
            cap = _number(tier.get("maxNotional")) or math.inf
            leverage = _number(tier.get("maxLeverage"))
            if floor < 0 or cap <= floor or (leverage is not None and leverage <= 0):
                raise BadMarketData(f"tier {number}: bounds or leverage out of range")
            parsed.append(
                Tier(min_notional=floor, max_notional=cap, mmr=mmr, max_leverage=leverage)
            )
        if not parsed:
            raise BadMarketData("no tiers")
        self.tiers[symbol] = with_maintenance_amounts(parsed)

    def dropped_note(self) -> str:
        """'dropped bad data: X (why); Y (why) and 2 more', or ''."""
        dropped = dict(self.dropped)
        for venue, other in self.others.items():
            dropped.update({(k, f"{s}@{venue}"): why for (k, s), why in other.dropped.items()})
        if not dropped:
            return ""
        items = sorted(dropped.items(), key=lambda item: item[0][1])
        named = "; ".join(f"{symbol} {kind} ({why})" for (kind, symbol), why in items[:NOTE_NAMES])
        more = len(items) - NOTE_NAMES
        return f"dropped bad data: {named}" + (f" and {more} more" if more > 0 else "")

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
        own = MarketState(
            clock_ms=self.clock_ms,
            exchange=self.exchange,
            spot=frozen_map(spot),
            contracts=frozen_map(contracts),
            tiers=frozen_map(self.tiers),
            status=status,
            note=" · ".join(part for part in (note, self.dropped_note()) if part),
        )
        if not self.others:
            return own
        others = {v: replace(b.state(status), note="") for v, b in self.others.items()}
        return replace(merge_venues(own, others), clock_ms=self.clock_ms, note=own.note)

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
