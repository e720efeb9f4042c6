"""The ccxt feed driven through real ccxt exchange objects with recorded HTTP answers.

Only the exchange's HTTP layer (`exchange.fetch`) is replaced: ccxt's own
request building, error mapping and parsers run as they do live.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import ccxt
import pytest

from core.feeds.base import Backoff, Feed
from core.feeds.ccxt_feed import CcxtFeed, create_exchange, followed_symbols
from core.model import Holding, Portfolio, Position

FIXTURES = Path(__file__).parent / "fixtures"
RECORDED = FIXTURES / "ccxt"
NOW_MS = 1_800_000_000_000


def recorded(exchange: str) -> dict[str, Any]:
    return json.loads((RECORDED / f"{exchange}_responses.json").read_text())


def recorded_entry(exchange: str, method: str, index: int = 0) -> dict[str, Any]:
    return recorded(exchange)["methods"][method][index]


def recorded_markets(exchange: str) -> dict[str, Any]:
    markets = json.loads((RECORDED / f"{exchange}_markets.json").read_text())
    if exchange == "binance":
        # The stored binance markets use decimal-places precision; ccxt 4.5 reads tick sizes.
        for market in markets.values():
            precision = market.get("precision") or {}
            for key, value in list(precision.items()):
                if isinstance(value, int):
                    precision[key] = 10.0**-value
    return markets


class RecordedHttp:
    """Stands in for `exchange.fetch`: answers by URL fragment, or raises a queued fault."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.faults: list[BaseException] = []
        self.urls: list[str] = []

    async def __call__(self, url: str, method: str = "GET", headers=None, body=None) -> Any:
        self.urls.append(url)
        if self.faults:
            raise self.faults.pop(0)
        for fragment, answer in self.routes.items():
            if fragment in url:
                return copy.deepcopy(answer)
        raise ccxt.ExchangeNotAvailable(f"no recorded answer for {url}")


class FakeClock:
    def __init__(self, now: int = NOW_MS) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def binance_spot_24hr() -> list[dict[str, Any]]:
    """Spot 24h rows: BTC as recorded; ETH from the recorded rolling-window row.

    ccxt's binance parser tells spot from contract rows by the 'bidQty' key, which
    the rolling-window row lacks, so the ETH row gets the book fields of a 24h row.
    """
    btc = recorded_entry("binance", "fetchTicker")["httpResponse"]
    rolling = recorded_entry("binance", "fetchTickers")["httpResponse"]
    eth = next(row for row in rolling if row["symbol"] == "ETHUSDT")
    book = {"bidPrice": eth["lastPrice"], "bidQty": "1.0", "askPrice": eth["lastPrice"]}
    return [btc, {**eth, **book, "askQty": "1.0", "prevClosePrice": eth["openPrice"]}]


BTC_SPOT = recorded_entry("binance", "fetchTicker")["parsedResponse"]["last"]
ETH_SPOT = recorded_entry("binance", "fetchTickers")["parsedResponse"]["ETH/USDT"]["last"]


def binance_routes() -> dict[str, Any]:
    usdm = json.loads((FIXTURES / "feeds" / "binance_usdm.json").read_text())
    return {"api/v3/ticker/24hr": binance_spot_24hr(), **usdm}


def offline_exchange(exchange_id: str) -> Any:
    """The exchange object the feed itself would make, minus rate-limit waits."""
    exchange = create_exchange(exchange_id, websocket=False)
    exchange.enableRateLimit = False
    return exchange


def binance(keys: bool = False) -> tuple[Any, RecordedHttp]:
    exchange = offline_exchange("binance")
    if keys:
        exchange.apiKey, exchange.secret = "key", "secret"
    exchange.set_markets(recorded_markets("binance"))
    http = RecordedHttp(binance_routes())
    exchange.fetch = http
    return exchange, http


def bybit() -> tuple[Any, RecordedHttp]:
    exchange = offline_exchange("bybit")
    exchange.set_markets(recorded_markets("bybit"))
    ticker = recorded_entry("bybit", "fetchTicker")["httpResponse"]
    http = RecordedHttp({"v5/market/tickers": ticker})
    exchange.fetch = http
    return exchange, http


BINANCE_SYMBOLS = ("BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT")


def make_feed(exchange: Any, symbols=BINANCE_SYMBOLS, clock=None, **kwargs) -> CcxtFeed:
    sleeps: list[float] = []

    async def record_sleep(delay: float) -> None:
        sleeps.append(delay)
        await asyncio.sleep(0)  # yield like a real sleep, without the wait

    feed = CcxtFeed(
        exchange.id,
        symbols,
        exchange=exchange,
        websocket=False,
        backoff=Backoff(initial_s=0.5, maximum_s=4.0, jitter=0.0),
        sleep=record_sleep,
        clock_ms=clock or FakeClock(),
        **kwargs,
    )
    feed.sleeps = sleeps  # type: ignore[attr-defined]
    return feed


@pytest.fixture
async def binance_exchange():
    exchange, http = binance()
    yield exchange, http
    await exchange.close()


# -- ccxt's parsers agree with the recorded parsed output ---------------------------------


async def test_binance_spot_tickers_parse_as_ccxt_recorded_them(binance_exchange):
    exchange, http = binance_exchange
    entry = recorded_entry("binance", "fetchTickers")
    http.routes = {"api/v3/ticker": entry["httpResponse"]}
    parsed = await exchange.fetch_tickers(*entry["input"])
    for symbol, expected in entry["parsedResponse"].items():
        for key in ("last", "high", "low", "open", "percentage", "timestamp", "quoteVolume"):
            assert parsed[symbol][key] == expected[key], (symbol, key)


async def test_bybit_swap_ticker_and_funding_parse_as_ccxt_recorded_them():
    exchange, http = bybit()
    try:
        for method, call in (
            ("fetchTicker", exchange.fetch_ticker),
            ("fetchFundingRate", exchange.fetch_funding_rate),
            ("fetchFundingRates", exchange.fetch_funding_rates),
        ):
            entry = recorded_entry("bybit", method)
            http.routes = {"v5/market/tickers": entry["httpResponse"]}
            parsed = await call(*entry["input"])
            expected = entry["parsedResponse"]
            if method == "fetchFundingRates":
                parsed, expected = parsed["BTC/USDT:USDT"], expected["BTC/USDT:USDT"]
            keys = ("last", "markPrice", "indexPrice", "percentage", "fundingRate")
            for key in (k for k in keys if k in expected):
                assert parsed[key] == expected[key], (method, key)
    finally:
        await exchange.close()


# -- the feed builds a MarketState from real parser output ---------------------------------


async def test_binance_feed_builds_spot_perp_funding_and_mark_from_recorded_answers(
    binance_exchange,
):
    exchange, _ = binance_exchange
    feed = make_feed(exchange)
    state = await feed.poll_once()
    expected = recorded_entry("binance", "fetchTicker")["parsedResponse"]

    assert isinstance(feed, Feed)
    assert state.status == "live"
    assert state.exchange == "binance"
    assert state.clock_ms == NOW_MS
    assert feed.missing == set()
    assert state.spot_price("BTC") == expected["last"] == 73369.84
    assert state.spot_price("ETH") == ETH_SPOT
    assert state.spot["BTC"].change_24h_pct == expected["percentage"]
    btc = state.contracts["BTC/USDT:USDT"]
    # The 24h ticker has no mark on binance: it comes from premiumIndex (the funding call).
    assert btc.mark == 67502.68519858
    assert btc.last == 67502.70
    assert btc.funding_rate == 0.0001
    assert btc.next_funding_ms == 1722182400000
    assert btc.kind == "swap" and btc.linear
    assert state.contracts["ETH/USDT:USDT"].funding_rate == 0.00008123
    assert not state.is_stale(state.spot["BTC"].ts_ms)


async def test_binance_tiers_without_keys_leave_the_feed_live_and_stop_asking(binance_exchange):
    exchange, http = binance_exchange
    feed = make_feed(exchange)
    first = await feed.poll_once()
    assert first.status == "live"
    # Without a key the shipped snapshot of Binance's brackets stands in, and says so.
    assert set(first.tiers) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert feed.tier_sources.label("BTC/USDT:USDT") == "snapshot of 2024-07-28"
    assert "tiers" in feed.problems
    calls = len(http.urls)
    second = await feed.poll_once()
    assert second.status == "live"
    assert not any("leverageBracket" in url for url in http.urls[calls:])


async def test_binance_tiers_with_keys_give_binances_own_maintenance_amounts():
    exchange, _ = binance(keys=True)
    try:
        feed = make_feed(exchange)
        state = await feed.poll_once()
    finally:
        await exchange.close()
    brackets = json.loads((FIXTURES / "feeds" / "binance_usdm.json").read_text())
    binance_cum = {
        "BTC/USDT:USDT": [b["cum"] for b in brackets["fapi/v1/leverageBracket"][0]["brackets"]],
        "ETH/USDT:USDT": [b["cum"] for b in brackets["fapi/v1/leverageBracket"][1]["brackets"]],
    }
    for symbol, cums in binance_cum.items():
        tiers = state.tiers[symbol]
        assert [t.cum for t in tiers] == pytest.approx(cums)
        assert tiers[0].max_leverage in (125, 100)
    assert state.tiers["BTC/USDT:USDT"][1].min_notional == 50_000
    assert state.tiers["BTC/USDT:USDT"][1].mmr == 0.005


async def test_bybit_feed_builds_a_perpetual_with_mark_and_funding_from_one_endpoint():
    exchange, _ = bybit()
    try:
        feed = make_feed(exchange, symbols=("BTC/USDT:USDT",))
        state = await feed.poll_once()
    finally:
        await exchange.close()
    expected = recorded_entry("bybit", "fetchTicker")["parsedResponse"]
    quote = state.contracts["BTC/USDT:USDT"]
    assert state.status == "live"
    assert quote.mark == expected["markPrice"]
    assert quote.index == expected["indexPrice"]
    assert quote.funding_rate == -0.00046295
    assert quote.next_funding_ms == 1707926400000


async def test_okx_spot_ticker_reaches_the_market_state():
    exchange = offline_exchange("okx")
    exchange.set_markets(recorded_markets("okx"))
    entry = recorded_entry("okx", "fetchTicker")
    exchange.fetch = RecordedHttp({"market/ticker": entry["httpResponse"]})
    try:
        state = await make_feed(exchange, symbols=("BTC/USDT",)).poll_once()
    finally:
        await exchange.close()
    assert state.status == "live"
    assert state.spot_price("BTC") == entry["parsedResponse"]["last"] == 73384.8


# -- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        ccxt.RequestTimeout("binance GET https://api.binance.com/api/v3/ticker/24hr 10000ms"),
        ccxt.NetworkError("connection reset by peer"),
        ccxt.RateLimitExceeded('binance 429 {"code":-1003,"msg":"Too many requests"}'),
        ccxt.ExchangeNotAvailable("binance 503 Service Unavailable"),
    ],
    ids=["timeout", "network", "rate-limit", "not-available"],
)
async def test_a_transient_fault_marks_stale_backs_off_and_recovers(binance_exchange, fault):
    exchange, http = binance_exchange
    feed = make_feed(exchange)
    assert (await feed.poll_once()).status == "live"
    before = feed.latest.spot_price("BTC")
    http.faults = [fault] * 12  # enough to fail three whole cycles
    await feed.start()
    states = []
    async for state in feed.updates():
        states.append(state.status)
        if state.status == "live" and "stale" in states:
            break
    await feed.stop()
    assert states[0] == "live"  # the state before the feed task ran
    assert "stale" in states
    assert states[-1] == "live"
    assert feed.latest.spot_price("BTC") == before
    # Exponential backoff while failing (no jitter here), then the normal refresh.
    assert feed.delays[:3] == [0.5, 1.0, 2.0]
    assert feed.backoff.failures == 0


async def test_a_feed_that_never_got_data_is_offline_then_live_when_answers_come():
    exchange = offline_exchange("binance")
    http = RecordedHttp(binance_routes())
    exchange.fetch = http
    markets_url_answers: dict[str, Any] = {}
    for market in recorded_markets("binance").values():
        if market.get("info") and market["symbol"] in BINANCE_SYMBOLS:
            path = "api/v3/exchangeInfo" if market["spot"] else "fapi/v1/exchangeInfo"
            markets_url_answers.setdefault(path, []).append(market["info"])
    try:
        feed = make_feed(exchange)
        http.faults = [ccxt.RequestTimeout("binance GET exchangeInfo timed out")]
        offline = await feed.poll_once()
        assert offline.status == "offline"
        assert offline.spot == {} and offline.contracts == {}
        for path, infos in markets_url_answers.items():
            http.routes[path] = {"timezone": "UTC", "serverTime": 1, "symbols": infos}
        live = await feed.poll_once()
    finally:
        await exchange.close()
    assert live.status == "live"
    assert live.spot_price("BTC") == BTC_SPOT
    assert live.mark("ETH/USDT:USDT") == 3262.4


async def test_none_in_price_fields_keeps_the_last_good_price_and_ages_it(binance_exchange):
    exchange, http = binance_exchange
    clock = FakeClock()
    feed = make_feed(exchange, clock=clock, stale_after_s=60)
    good = await feed.poll_once()
    broken = copy.deepcopy(http.routes["api/v3/ticker/24hr"])
    for row in broken:
        for key in ("lastPrice", "openPrice", "highPrice", "lowPrice", "bidPrice", "askPrice"):
            row[key] = None
    http.routes["api/v3/ticker/24hr"] = broken
    clock.now += 90_000
    state = await feed.poll_once()
    assert state.spot_price("BTC") == good.spot_price("BTC")
    assert state.is_stale(state.spot["BTC"].ts_ms)
    assert not state.is_stale(state.contracts["BTC/USDT:USDT"].ts_ms)
    assert feed.missing == {"BTC/USDT", "ETH/USDT"}


async def test_a_symbol_that_disappears_goes_stale_alone_and_comes_back(binance_exchange):
    exchange, http = binance_exchange
    clock = FakeClock()
    feed = make_feed(exchange, clock=clock, stale_after_s=60)
    full = http.routes["api/v3/ticker/24hr"]
    await feed.poll_once()
    http.routes["api/v3/ticker/24hr"] = [row for row in full if row["symbol"] != "ETHUSDT"]
    clock.now += 90_000
    gone = await feed.poll_once()
    assert gone.status == "live"
    assert feed.missing == {"ETH/USDT"}
    assert gone.is_stale(gone.spot["ETH"].ts_ms)
    assert not gone.is_stale(gone.spot["BTC"].ts_ms)
    http.routes["api/v3/ticker/24hr"] = full
    clock.now += 5_000
    back = await feed.poll_once()
    assert feed.missing == set()
    assert not back.is_stale(back.spot["ETH"].ts_ms)


async def test_a_symbol_delisted_from_markets_is_reported_unavailable_after_a_reload():
    exchange, http = binance()
    try:
        feed = make_feed(exchange)
        await feed.poll_once()
        # Binance delists ETHUSDT spot: it answers -1121, which ccxt maps to BadSymbol,
        # and its exchangeInfo no longer lists the pair.
        http.faults = [ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}')]
        listed = [m for m in exchange.markets.values() if m.get("info")]
        spot = [m["info"] for m in listed if m["spot"] and m["symbol"] != "ETH/USDT"]
        linear = [m["info"] for m in listed if m.get("linear")]
        http.routes["api/v3/exchangeInfo"] = {"timezone": "UTC", "serverTime": 1, "symbols": spot}
        http.routes["fapi/v1/exchangeInfo"] = {
            "timezone": "UTC",
            "serverTime": 1,
            "symbols": linear,
        }
        failed = await feed.poll_once()
        assert failed.status == "stale"
        recovered = await feed.poll_once()
    finally:
        await exchange.close()
    assert recovered.status == "live", feed.problems
    assert "ETH/USDT" in feed.unavailable
    assert "ETH/USDT" not in feed.active
    assert recovered.spot_price("BTC") == BTC_SPOT
    assert recovered.mark("ETH/USDT:USDT") == 3262.4


def test_followed_symbols_cover_config_positions_holdings_and_basis_spot():
    portfolio = Portfolio(
        holdings=(Holding("BTC", 1.0), Holding("USDT", 1000.0), Holding("SOL", 5.0)),
        positions=(
            Position("f", "alpha", "BTC/USDT:USDT-261225", "short", 0.1, 60000.0, 2.0),
            Position("p", "hedge", "AVAX/USDT:USDT", "short", 1.0, 30.0, 2.0),
        ),
    )
    symbols = followed_symbols(["ETH/USDT:USDT"], portfolio, ("USDT", "USDC"))
    assert symbols == (
        "ETH/USDT:USDT",
        "BTC/USDT",
        "SOL/USDT",
        "BTC/USDT:USDT-261225",
        "AVAX/USDT:USDT",
        "AVAX/USDT",
        "ETH/USDT",
    )


async def test_websocket_failure_falls_back_to_rest_polling_and_stays_live():
    import socket

    with socket.socket() as probe:  # a local port with nothing listening: refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exchange = create_exchange("binance", websocket=True)
    exchange.enableRateLimit = False
    exchange.set_markets(recorded_markets("binance"))
    exchange.fetch = RecordedHttp(binance_routes())
    for key, url in exchange.urls["api"]["ws"].items():
        if isinstance(url, str):
            exchange.urls["api"]["ws"][key] = f"ws://127.0.0.1:{port}/ws"
    feed = CcxtFeed("binance", BINANCE_SYMBOLS, exchange=exchange, clock_ms=FakeClock())
    try:
        assert exchange.has["watchTickers"] and feed._using_websocket()
        state = await feed.poll_once()
    finally:
        await exchange.close()
    assert "websocket" in feed.problems
    assert state.status == "live"
    assert state.spot_price("BTC") == BTC_SPOT
    assert not feed._using_websocket()  # REST until the retry window passes
