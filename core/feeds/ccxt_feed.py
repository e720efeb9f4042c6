"""Live public market data from an exchange through ccxt (websocket or REST polling).

ccxt is imported inside functions only: importing it costs ~0.7 s and must
stay off the app's start path.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from core.feeds.base import Backoff, Feed, FeedBase
from core.feeds.funding_info import FundingIntervals
from core.feeds.secrets import describe_fault
from core.feeds.state import MarketStateBuilder, _number
from core.keys import api_credentials
from core.model import FeedStatus, MarketState, Portfolio, frozen_map
from core.tiers_snapshot import LIVE, TierSources, use_snapshot

if TYPE_CHECKING:
    from core.config import AppConfig

Event = dict[str, Any]
EventSink = Callable[[Event], None]
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], int]

DEFAULT_EXCHANGE = "binance"
_PRICE_KEYS = ("last", "close", "markPrice", "bid", "ask")
# Faults that end the program on purpose; every other one only marks data stale.
FATAL = (asyncio.CancelledError, KeyboardInterrupt, SystemExit)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def followed_symbols(
    config_symbols: Iterable[str],
    portfolio: Portfolio | None,
    stablecoins: Iterable[str] = ("USDT", "USDC", "DAI", "FDUSD", "USD"),
) -> tuple[str, ...]:
    """Symbols to follow: config's, every position's, and '<ASSET>/USDT' for spot legs.

    The spot of every contract's base is added too: the basis needs it.
    """
    stable = set(stablecoins)
    wanted: list[str] = list(config_symbols)
    if portfolio is not None:
        wanted += [f"{h.asset}/USDT" for h in portfolio.holdings if h.asset not in stable]
        for position in portfolio.positions:
            wanted += [position.symbol, f"{position.base}/USDT"]
    wanted += [f"{s.split('/', 1)[0]}/USDT" for s in list(wanted) if ":" in s]
    return tuple(dict.fromkeys(s for s in wanted if s))


def to_json_safe(value: Any) -> Any:
    """A copy of a ccxt object fit for JSON: no raw 'info' payload, no NaN/inf."""
    if isinstance(value, Mapping):
        return {str(k): to_json_safe(v) for k, v in value.items() if k != "info"}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def has_price(ticker: Mapping[str, Any]) -> bool:
    return any(_number(ticker.get(key)) is not None for key in _PRICE_KEYS)


def create_exchange(exchange_id: str, *, websocket: bool = True, timeout_ms: int = 10_000) -> Any:
    """A ccxt async exchange (the ccxt.pro class when websockets are wanted and exist)."""
    import ccxt.async_support as ccxt_async

    if exchange_id not in ccxt_async.exchanges:
        import difflib

        close = difflib.get_close_matches(exchange_id, ccxt_async.exchanges, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown exchange {exchange_id!r} (not in ccxt){hint}")
    cls = None
    if websocket:
        import ccxt.pro as ccxt_pro

        cls = getattr(ccxt_pro, exchange_id, None)
    if cls is None:
        cls = getattr(ccxt_async, exchange_id)
    options: dict[str, Any] = {}
    if exchange_id == "binance":
        # Spot and USDⓈ-M only: skips the coin-M and options market downloads. Symbols of
        # different types are queried in separate groups, so defaultType never decides.
        options["fetchMarkets"] = {"types": ["spot", "linear"]}
    return cls(
        {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": options,
            **api_credentials(exchange_id),
        }
    )


def _ccxt_errors() -> Any:
    import ccxt

    return ccxt


class CcxtFeed(FeedBase):
    """Follows spot, perpetual and dated-future symbols on one exchange.

    Faults never end the feed: the state turns "stale" ("offline" before the
    first data), retries back off exponentially, and the next good answer makes
    it "live" again. Every object taken in is also handed to event sinks in the
    replay format, which is how the recorder writes files.
    """

    def __init__(
        self,
        exchange_id: str = DEFAULT_EXCHANGE,
        symbols: Iterable[str] = (),
        *,
        refresh_s: float = 5.0,
        stale_after_s: float = 120.0,
        timeout_ms: int = 10_000,
        websocket: bool = True,
        backoff: Backoff | None = None,
        exchange: Any = None,
        sleep: Sleep = asyncio.sleep,
        clock_ms: Clock = wall_clock_ms,
        funding_refresh_s: float | None = None,
        tiers_refresh_s: float = 3600.0,
        markets_refresh_s: float = 6 * 3600.0,
    ) -> None:
        super().__init__("offline")
        self.exchange_id = exchange_id
        self.symbols = tuple(dict.fromkeys(symbols))
        self.refresh_s = refresh_s
        self.stale_after_ms = int(min(stale_after_s, 7 * 86400.0) * 1000)
        self.timeout_ms = timeout_ms
        self.websocket = websocket
        self.backoff = backoff or Backoff(initial_s=1.0, maximum_s=60.0)
        self.builder = MarketStateBuilder(exchange_id)
        self.exchange = exchange
        self._own_exchange = exchange is None
        self._sleep = sleep
        self._clock_ms = clock_ms
        self.funding_refresh_ms = int((funding_refresh_s or refresh_s) * 1000)
        self.tiers_refresh_ms = int(tiers_refresh_s * 1000)
        self.markets_refresh_ms = int(markets_refresh_s * 1000)
        self._sinks: list[EventSink] = []
        self._markets_at: int | None = None
        self._funding_at: int | None = None
        self._tiers_at: int | None = None
        self._tiers_off = False
        self._reload_markets = False
        self._ws_off_until = 0
        self._got_data = False
        self.active: tuple[str, ...] = ()
        self.unavailable: dict[str, str] = {}
        self.missing: set[str] = set()
        self.problems: dict[str, str] = {}
        self.delays: list[float] = []
        self.tier_sources = TierSources()  # symbol -> live / snapshot of DATE / default rate
        self.funding_intervals = FundingIntervals(exchange_id)

    @classmethod
    def from_config(cls, config: AppConfig, portfolio: Portfolio | None, **kwargs: Any) -> CcxtFeed:
        """A feed for config.toml's [feed] section and the portfolio's symbols."""
        symbols = followed_symbols(config.feed.symbols, portfolio, config.settings.stablecoins)
        kwargs.setdefault("refresh_s", config.feed.refresh_s)
        kwargs.setdefault("stale_after_s", config.feed.stale_after_s)
        return cls(config.feed.exchange, symbols, **kwargs)

    def add_event_sink(self, sink: EventSink) -> None:
        """Receive every object taken in, as a replay-format event."""
        self._sinks.append(sink)

    def _task_name(self) -> str:
        return f"ccxt-feed-{self.exchange_id}"

    async def _release(self) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the exchange's HTTP session and sockets (only one this feed made)."""
        if self.exchange is not None and self._own_exchange:
            try:
                await self._call(self.exchange.close())
            except FATAL:
                raise
            except BaseException:  # noqa: BLE001 - closing a broken session must not raise
                pass

    async def _call(self, request: Awaitable[Any]) -> Any:
        """Await one exchange call, giving up after the feed's timeout."""
        seconds = self.timeout_ms / 1000
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
            # that lands as the call completes, and stop() would then never end.
            async with asyncio.timeout(seconds):
                return await request
        except TimeoutError as exc:
            raise TimeoutError(f"no answer within {seconds:g} s") from exc

    def cycle_timeout_s(self) -> float:
        """How long one poll may take before its data counts as stale."""
        return max(3 * self.timeout_ms / 1000, 1.0)

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.cycle_timeout_s()):
                    state = await self.poll_once()
            except TimeoutError:
                # A request that never returns: what is held is shown as stale, not live.
                self.problems["poll"] = f"no answer within {self.cycle_timeout_s():g} s"
                state = self.state("stale" if self._got_data else "offline")
                self._publish(state)
            if state.status == "live":
                self.backoff.reset()
                delay = 0.0 if self._using_websocket() else self.refresh_s
            else:
                delay = self.backoff.next_delay()
                self.delays.append(delay)
            await self._sleep(delay)

    async def poll_once(self) -> MarketState:
        """One cycle: markets when due, tickers, funding and tiers when due; publish.

        Any fault (the exchange's constructor included, and faults that are not
        Exception subclasses) is kept as a one-line problem with secrets masked,
        and marks the data stale; it never leaves the feed.
        """
        now = self._clock_ms()
        self.problems.pop("poll", None)
        if self.exchange is None:
            try:
                self.exchange = create_exchange(
                    self.exchange_id, websocket=self.websocket, timeout_ms=self.timeout_ms
                )
            except FATAL:
                raise
            except BaseException as exc:  # noqa: BLE001 - a broken exchange is only offline
                self.problems["exchange"] = describe_fault(exc, exchange_ids=(self.exchange_id,))
                state = self.state("stale" if self._got_data else "offline", now)
                self._publish(state)
                return state
            self.problems.pop("exchange", None)
        healthy = True
        for stage, step in (
            ("markets", self._refresh_markets),
            ("tickers", self._refresh_tickers),
            ("funding", self._refresh_funding),
            ("tiers", self._refresh_tiers),
        ):
            try:
                await step(now)
            except FATAL:
                raise
            except BaseException as exc:  # noqa: BLE001 - any fault marks data stale, never kills
                self.problems[stage] = describe_fault(exc, exchange_ids=(self.exchange_id,))
                if stage != "tiers":
                    healthy = False
                if stage == "markets" and self._markets_at is None:
                    break
            else:
                self.problems.pop(stage, None)
        status: FeedStatus = "live" if healthy else ("stale" if self._got_data else "offline")
        state = self.state(status, now)
        self._publish(state)
        return state

    def state(self, status: FeedStatus, now_ms: int | None = None) -> MarketState:
        state = self.builder.state(status=status)
        clock = max(state.clock_ms, now_ms if now_ms is not None else self._clock_ms())
        return replace(
            state,
            clock_ms=clock,
            stale_after_ms=self.stale_after_ms,
            tier_sources=frozen_map(self.tier_sources.as_dict()),
        )

    def _emit(self, event: Event) -> bool:
        """Take in one object; bad data is dropped (noted by the builder), not recorded."""
        if not self.builder.apply(event):
            return False
        for sink in self._sinks:
            sink(event)
        return True

    def _event(self, now: int, kind: str, data: Any, symbol: str | None = None) -> Event:
        event: Event = {"ts": now, "exchange": self.exchange_id, "type": kind}
        if symbol is not None:
            event["symbol"] = symbol
        event["data"] = to_json_safe(data)
        return event

    def _due(self, last: int | None, every_ms: int, now: int) -> bool:
        return last is None or now - last >= every_ms

    async def _refresh_markets(self, now: int) -> None:
        due = self._due(self._markets_at, self.markets_refresh_ms, now)
        if not (due or self._reload_markets):
            return
        reload = self._markets_at is not None
        markets = await self._call(self.exchange.load_markets(reload))
        self._reload_markets = False
        active, unavailable = [], {}
        for symbol in self.symbols:
            market = markets.get(symbol)
            if market is None:
                unavailable[symbol] = f"not listed on {self.exchange_id}"
            elif market.get("active") is False:
                unavailable[symbol] = f"inactive on {self.exchange_id}"
            else:
                active.append(symbol)
                self._emit(self._event(now, "market", market))
        self.active, self.unavailable = tuple(active), unavailable
        self._markets_at = now

    def _groups(self) -> list[list[str]]:
        """Symbols by market kind: one request cannot mix spot, swap and future."""
        groups: dict[tuple[str, bool], list[str]] = {}
        for symbol in self.active:
            market = self.exchange.markets.get(symbol)
            if market is None:
                self._reload_markets = True
                continue
            key = (str(market.get("type")), bool(market.get("inverse")))
            groups.setdefault(key, []).append(symbol)
        return list(groups.values())

    def _market(self, symbol: str) -> Mapping[str, Any]:
        return self.exchange.markets.get(symbol) or {}

    def _using_websocket(self) -> bool:
        has = getattr(self.exchange, "has", {}) or {}
        return bool(self.websocket and has.get("watchTickers")) and (
            self._clock_ms() >= self._ws_off_until
        )

    async def _refresh_tickers(self, now: int) -> None:
        errors = _ccxt_errors()
        failures: list[BaseException] = []
        answered: set[str] = set()
        for group in self._groups():
            try:
                tickers, complete = await self._tickers_for(group)
            except errors.BadSymbol as exc:
                # A symbol vanished from the exchange: reload markets on the next cycle.
                self._reload_markets = True
                failures.append(exc)
                continue
            except FATAL:
                raise
            except BaseException as exc:  # noqa: BLE001 - other groups may still answer
                failures.append(exc)
                continue
            for symbol in group:
                ticker = tickers.get(symbol)
                if (
                    isinstance(ticker, Mapping)
                    and has_price(ticker)
                    and self._emit(self._event(now, "ticker", ticker))
                ):
                    self._got_data = True
                    answered.add(symbol)
            if complete:
                self.missing -= set(group)
                self.missing |= {s for s in group if s not in answered}
        if failures:
            raise failures[0]

    async def _tickers_for(self, group: list[str]) -> tuple[Mapping[str, Any], bool]:
        """Tickers of one group and whether the answer should hold every symbol."""
        if self._using_websocket():
            try:
                # A websocket message carries only the symbols that changed.
                tickers = await self._call(self.exchange.watch_tickers(group))
                return tickers, False
            except FATAL:
                raise
            except BaseException as exc:  # noqa: BLE001 - fall back to REST for a while
                self.problems["websocket"] = describe_fault(exc, exchange_ids=(self.exchange_id,))
                self._ws_off_until = self._clock_ms() + 60_000
        if len(group) == 1 and not self.exchange.has.get("fetchTickers"):
            return {group[0]: await self._call(self.exchange.fetch_ticker(group[0]))}, True
        return await self._call(self.exchange.fetch_tickers(group)), True

    async def _refresh_funding(self, now: int) -> None:
        swaps = [s for s in self.active if self._market(s).get("swap")]
        if not swaps or not self._due(self._funding_at, self.funding_refresh_ms, now):
            return
        try:
            await self._call(self.funding_intervals.refresh(self.exchange, swaps, now))
        except TimeoutError as exc:  # a refinement: the rates below still count
            self.funding_intervals.problem = describe_fault(exc)
        has = self.exchange.has
        if has.get("fetchFundingRates"):
            rates = await self._call(self.exchange.fetch_funding_rates(swaps))
        else:
            rates = {s: await self._call(self.exchange.fetch_funding_rate(s)) for s in swaps}
        for symbol in swaps:
            rate = rates.get(symbol)
            if isinstance(rate, Mapping):
                rate = self.funding_intervals.fill(symbol, rate)
                self._emit(self._event(now, "funding", rate))
        self._funding_at = now

    async def _refresh_tiers(self, now: int) -> None:
        contracts = [s for s in self.active if self._market(s).get("contract")]
        if self._tiers_off or not contracts:
            return
        if not self._due(self._tiers_at, self.tiers_refresh_ms, now):
            return
        errors = _ccxt_errors()
        # Brackets change rarely: after a failure retry in a minute, not every cycle.
        self._tiers_at = now - self.tiers_refresh_ms + 60_000
        try:
            tiers = await self._fetch_tiers(contracts)
        except (errors.AuthenticationError, errors.PermissionDenied, errors.NotSupported):
            # Binance serves brackets to signed requests only; the engine then uses its
            # default maintenance rate and says so.
            self._tiers_off = True
            use_snapshot(self.builder, self.exchange_id, contracts, self.tier_sources)
            raise
        self._tiers_at = now
        for symbol in contracts:
            brackets = tiers.get(symbol)
            if brackets:
                self._emit(self._event(now, "tiers", self._in_usd(symbol, brackets), symbol))
                self.tier_sources.mark(symbol, LIVE)

    async def _fetch_tiers(self, contracts: list[str]) -> Mapping[str, list[Any]]:
        has = self.exchange.has
        if has.get("fetchMarketLeverageTiers") is True:
            result = {}
            for symbol in contracts:
                result[symbol] = await self._call(self.exchange.fetch_market_leverage_tiers(symbol))
            return result
        if has.get("fetchLeverageTiers"):
            return await self._call(self.exchange.fetch_leverage_tiers(contracts))
        errors = _ccxt_errors()
        raise errors.NotSupported(f"{self.exchange_id} has no leverage tiers endpoint")

    def _in_usd(self, symbol: str, brackets: list[Any]) -> list[Any]:
        """OKX states tier bounds in contracts; convert them to USD at the current mark."""
        if self.exchange_id != "okx":
            return brackets
        market = self.exchange.markets[symbol]
        quote = self.builder.state().contracts.get(symbol)
        price = quote.mark if quote else None
        size = _number(market.get("contractSize")) or 1.0
        if price is None:
            return []
        converted = []
        for tier in brackets:
            tier = dict(tier)
            for key in ("minNotional", "maxNotional"):
                bound = _number(tier.get(key))
                tier[key] = None if bound is None else bound * size * price
            converted.append(tier)
        return converted


def venue_rows(portfolio: Portfolio | None, venue: str, default: str) -> Portfolio | None:
    """The holdings and positions kept on `venue` (a row without one is on the default)."""
    if portfolio is None:
        return None

    def on(row_venue: str) -> bool:
        return (row_venue or default) == venue

    return replace(
        portfolio,
        holdings=tuple(h for h in portfolio.holdings if on(h.venue)),
        positions=tuple(p for p in portfolio.positions if on(p.venue)),
    )


def live_feed(config: AppConfig, portfolio: Portfolio | None, **kwargs: Any) -> Feed:
    """The live feed of config.toml's venues: one exchange, or several merged into one
    market state (each venue following the symbols of its own rows)."""
    if len(config.feed.exchanges) <= 1:
        return CcxtFeed.from_config(config, portfolio, **kwargs)
    from core.feeds.venues import VenuesFeed

    return VenuesFeed(venue_feeds(config, portfolio, **kwargs), config.feed.exchanges[0])


def venue_feeds(
    config: AppConfig,
    portfolio: Portfolio | None,
    exchanges: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, CcxtFeed]:
    """One feed per venue of config.toml, on the symbols of that venue's own rows
    (config's [feed] symbols go to the default venue); `exchanges` may give a venue's
    ccxt object."""
    default = config.feed.exchanges[0]
    options = {"refresh_s": config.feed.refresh_s, "stale_after_s": config.feed.stale_after_s}
    feeds: dict[str, CcxtFeed] = {}
    for venue in config.feed.exchanges:
        rows = venue_rows(portfolio, venue, default)
        wanted = config.feed.symbols if venue == default else ()
        symbols = followed_symbols(wanted, rows, config.settings.stablecoins)
        made = {"exchange": exchanges[venue]} if exchanges and venue in exchanges else {}
        feeds[venue] = CcxtFeed(venue, symbols, **{**options, **kwargs, **made})
    return feeds
