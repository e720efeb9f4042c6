"""Hostile market data and exchange faults: dropped with a note, shown stale, never a crash."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import pytest

from core.feeds.ccxt_feed import CcxtFeed
from core.feeds.replay_file import ReplayError, fold_replay
from core.feeds.source import MarketSource, SourceFeed
from core.feeds.state import MarketStateBuilder
from tests.test_feeds_ccxt import NOW_MS, FakeClock, binance, make_feed

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.jsonl"
TS = 1_800_000_000_000


def event(kind: str, data: Any, ts: int = TS, **extra: Any) -> dict[str, Any]:
    return {"ts": ts, "exchange": "binance", "type": kind, "data": data, **extra}


def ticker(symbol: str, last: Any, ts: int = TS, **fields: Any) -> dict[str, Any]:
    return event("ticker", {"symbol": symbol, "last": last, **fields}, ts)


def write_replay(path: Path, events: list[dict[str, Any]], raw: str = "") -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + raw, encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SYMBIOSIS_OFFLINE": "1"},
    )


# -- bad market data is dropped with a note naming the symbol --------------------------------

BAD_EVENTS = [
    (ticker("ETH/USDT", -5.0), "ETH/USDT ticker (last -5 <= 0)"),
    (ticker("SOL/USDT", 0), "SOL/USDT ticker (last 0 <= 0)"),
    (ticker("XRP/USDT", "NaN"), "XRP/USDT ticker (last 'NaN' is not a finite number)"),
    (ticker("ADA/USDT", 1.0, ts=10**15), "ADA/USDT ticker (timestamp"),
    (ticker("DOT/USDT", 1.0, timestamp=10**16), "DOT/USDT ticker (timestamp"),
    (ticker("BTC/USDT:USDT-999999", 70_000.0), "BTC/USDT:USDT-999999 ticker (impossible expiry"),
    (event("ticker", [1, 2, 3]), "? ticker (ticker data is not an object)"),
    (event("tiers", [1], symbol="BTC/USDT:USDT"), "BTC/USDT:USDT tiers (tier 1 is not an object)"),
    (ticker("LTC/USDT", 1e309), "LTC/USDT ticker (last inf is not a finite number)"),
    (event("funding", {"symbol": "BTC/USDT:USDT", "fundingRate": 5.0}), "fundingRate 5.0"),
    (event("market", {"symbol": "BTC/USDT:USDT", "contractSize": -1}), "contractSize -1"),
]


@pytest.mark.parametrize(("bad", "note"), BAD_EVENTS, ids=[n.split(" (")[0] for _, n in BAD_EVENTS])
def test_bad_market_data_is_dropped_with_a_note_naming_the_symbol(tmp_path, bad, note):
    good = ticker("BTC/USDT", 70_000.0)
    market = fold_replay(write_replay(tmp_path / "r.jsonl", [good, bad]))
    assert market.spot_price("BTC") == 70_000.0
    assert note in market.note
    assert market.clock_ms == TS
    for quote in market.spot.values():
        assert quote.price is None or (math.isfinite(quote.price) and quote.price > 0)


def test_a_later_good_quote_clears_the_note_and_a_bad_one_keeps_the_last_good_price(tmp_path):
    events = [ticker("BTC/USDT", 70_000.0), ticker("BTC/USDT", -1.0, TS + 1)]
    market = fold_replay(write_replay(tmp_path / "r.jsonl", events))
    assert market.spot_price("BTC") == 70_000.0 and "BTC/USDT" in market.note
    events.append(ticker("BTC/USDT", 71_000.0, TS + 2))
    market = fold_replay(write_replay(tmp_path / "r.jsonl", events))
    assert market.spot_price("BTC") == 71_000.0 and market.note == ""


def test_the_note_names_three_symbols_then_counts_the_rest(tmp_path):
    bad = [ticker(f"A{i}/USDT", -1.0) for i in range(5)]
    market = fold_replay(write_replay(tmp_path / "r.jsonl", [ticker("BTC/USDT", 1.0), *bad]))
    assert market.note.startswith("dropped bad data: A0/USDT ticker")
    assert market.note.endswith("and 2 more")


def test_report_on_a_replay_with_bad_data_gives_finite_figures_and_the_note(tmp_path):
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    last_ts = json.loads(lines[-1])["ts"]
    bad = [
        ticker("BTC/USDT", -70_000.0, last_ts),
        ticker("ETH/USDT", 3_000.0, 10**15),
        event("ticker", {"symbol": "BTC/USDT:USDT", "markPrice": float("inf")}, last_ts),
    ]
    replay = tmp_path / "bad.jsonl"
    replay.write_text(
        "\n".join(lines) + "\n" + "".join(json.dumps(e) + "\n" for e in bad), encoding="utf-8"
    )
    done = run_cli("report", "--replay", str(replay), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    demo = json.loads(run_cli("report", "--replay", str(DEMO), "--json").stdout)
    assert report["totals"] == demo["totals"]  # the bad ticks changed no figure
    assert "BTC/USDT ticker (last -70000 <= 0)" in report["note"]
    assert "BTC/USDT:USDT ticker" in report["note"]


# -- empty, eventless and missing replays ----------------------------------------------------


def test_an_empty_replay_is_an_error_never_a_book_priced_at_zero(tmp_path):
    replay = tmp_path / "empty.jsonl"
    replay.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ReplayError, match="the replay file is empty"):
        fold_replay(replay)
    done = run_cli("report", "--replay", str(replay), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"symbiosis: {replay}: the replay file is empty (no events)\n"


def test_a_replay_whose_every_event_is_bad_is_an_error(tmp_path):
    replay = write_replay(tmp_path / "bad.jsonl", [ticker("BTC/USDT", -1.0), ticker("X/Y", 0)])
    done = run_cli("report", "--replay", str(replay))
    assert done.returncode == 2
    assert "no usable market data in 2 events (dropped bad data: BTC/USDT ticker" in done.stderr


def test_a_replay_named_in_config_that_is_missing_exits_2_not_the_demo(tmp_path):
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    config = config.replace('kind = "ccxt"', 'kind = "replay"')
    config = config.replace('replay = "data/demo.jsonl"', 'replay = "gone.jsonl"', 1)
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    (tmp_path / "portfolio.toml").write_bytes((ROOT / "portfolio.toml").read_bytes())
    for command in (["report"], []):
        done = run_cli(*command, "--config", str(tmp_path / "config.toml"))
        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            f"symbiosis: {tmp_path / 'config.toml'}: feed.replay: cannot open "
            f"{tmp_path / 'gone.jsonl'} (No such file or directory)\n"
        )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe{\x00}\x00", ":1: the file is UTF-16 text"),
        (b'{"ts": 1800000000000, "type": "ticker", "data": {"symbol": "\xff"}}\n', ":1: not valid"),
        (b"[" * 100_000 + b"]" * 100_000 + b"\n", ":1: JSON nested too deeply"),
        (b'{"ts": ' + b"9" * 5000 + b', "type": "ticker", "data": {}}\n', ":1: not valid JSON"),
    ],
    ids=["utf16", "bad-utf8", "deep-json", "5000-digits"],
)
def test_a_replay_that_is_not_utf8_json_lines_is_refused_by_file_and_line(tmp_path, raw, message):
    replay = tmp_path / "r.jsonl"
    replay.write_bytes(raw)
    with pytest.raises(ReplayError) as caught:
        fold_replay(replay)
    assert str(caught.value).startswith(f"{replay}{message}")


# -- staleness is measured from when a quote was received ------------------------------------


def shift_close_times(routes: dict[str, Any], by_ms: int) -> None:
    for rows in routes.values():
        for row in rows if isinstance(rows, list) else [rows]:
            if isinstance(row, dict):
                for key in ("closeTime", "time"):
                    if isinstance(row.get(key), int):
                        row[key] += by_ms


async def test_an_exchange_clock_running_ahead_does_not_make_quotes_stale_for_good():
    exchange, http = binance()
    try:
        shift_close_times(http.routes, 86_400_000)  # the exchange says it is tomorrow
        clock = FakeClock()
        feed = make_feed(exchange, clock=clock, stale_after_s=60)
        first = await feed.poll_once()
        clock.now += 30_000
        second = await feed.poll_once()
    finally:
        await exchange.close()
    for state, now in ((first, NOW_MS), (second, NOW_MS + 30_000)):
        quote = state.spot["BTC"]
        assert quote.ts_ms == now  # received now, whatever the exchange's clock says
        assert state.clock_ms == now
        assert not state.is_stale(quote.ts_ms)


async def test_a_request_that_never_returns_times_out_and_shows_stale():
    exchange, http = binance()
    try:
        clock = FakeClock()
        feed = make_feed(exchange, clock=clock, timeout_ms=50)
        assert (await feed.poll_once()).status == "live"
        never = asyncio.Event()

        async def hang(url: str, method: str = "GET", headers=None, body=None) -> Any:
            await never.wait()

        exchange.fetch = hang
        clock.now += 10_000
        stale = await asyncio.wait_for(feed.poll_once(), 5)
    finally:
        await exchange.close()
    assert stale.status == "stale"
    assert feed.problems["tickers"] == "TimeoutError: no answer within 0.05 s"
    assert stale.is_stale(stale.spot["BTC"].ts_ms)


async def test_a_poll_that_hangs_past_the_cycle_budget_is_published_as_stale():
    exchange, http = binance()
    feed = make_feed(exchange, timeout_ms=20)
    assert (await feed.poll_once()).status == "live"
    never = asyncio.Event()

    async def hang_ignoring_the_call_timeout(now: int) -> None:
        await asyncio.shield(never.wait())  # survives the per-call timeout

    feed._refresh_tickers = hang_ignoring_the_call_timeout  # type: ignore[method-assign]
    feed.cycle_timeout_s = lambda: 0.05  # type: ignore[method-assign]
    await feed.start()
    try:
        async with asyncio.timeout(5):
            async for state in feed.updates():
                if state.status == "stale":
                    break
    finally:
        await feed.stop()
        await exchange.close()
    assert feed.problems["poll"] == "no answer within 0.05 s"


# -- faults never leave the feed --------------------------------------------------------------


class NotAnException(BaseException):
    """A fault outside the Exception hierarchy, as some libraries raise."""


async def test_a_fault_that_is_not_an_exception_subclass_does_not_escape_the_feed():
    exchange, http = binance()
    try:
        feed = make_feed(exchange)
        assert (await feed.poll_once()).status == "live"
        http.faults = [NotAnException("deep fault")] * 2
        state = await feed.poll_once()
        assert state.status == "stale"
        assert feed.problems["tickers"] == "NotAnException: deep fault"
        assert (await feed.poll_once()).status == "live"
    finally:
        await exchange.close()


async def test_a_fault_in_the_exchange_constructor_leaves_the_feed_offline(monkeypatch):
    def broken_constructor(self: Any, config: Any = None) -> None:
        raise NotAnException("constructor broke")

    monkeypatch.setattr(ccxt.async_support.binance, "__init__", broken_constructor)
    feed = CcxtFeed("binance", ["BTC/USDT"], websocket=False)
    state = await feed.poll_once()
    assert state.status == "offline"
    assert feed.problems == {"exchange": "NotAnException: constructor broke"}
    await feed.stop()


async def test_a_mistyped_exchange_is_a_one_line_problem_with_a_hint():
    feed = CcxtFeed("binanse", ["BTC/USDT"], websocket=False)
    state = await feed.poll_once()
    await feed.stop()
    assert state.status == "offline"
    assert feed.problems["exchange"] == (
        "ValueError: unknown exchange 'binanse' (not in ccxt); did you mean 'binance'?"
    )


async def test_bad_prices_from_the_exchange_are_dropped_and_the_last_good_one_kept():
    exchange, http = binance()
    try:
        feed = make_feed(exchange)
        good = await feed.poll_once()
        for row in http.routes["api/v3/ticker/24hr"]:
            if row["symbol"] == "BTCUSDT":
                row["lastPrice"] = "-1.5"
        feed._clock_ms.now += 1_000
        bad = await feed.poll_once()
    finally:
        await exchange.close()
    assert bad.spot_price("BTC") == good.spot_price("BTC")
    assert "BTC/USDT ticker (last -1.5 <= 0)" in bad.note


# -- the one source policy, as a Feed --------------------------------------------------------


async def test_the_source_feed_plays_the_replay_when_live_data_never_answers():
    def unreachable() -> CcxtFeed:
        return CcxtFeed("binanse", ["BTC/USDT"], websocket=False)

    source = MarketSource(True, "binance", DEMO)
    feed = SourceFeed(source, unreachable, speed=None, first_answer_timeout_s=5)
    notices: list[tuple[str, str]] = []
    feed.on_notice(lambda text, severity: notices.append((text, severity)))
    await feed.start()
    states = [state async for state in feed.updates()]
    await feed.stop()
    assert states and states[-1].status == "replay"
    assert states[-1].note.startswith("offline: binance unreachable · made-up demo data")
    assert notices[0][1] == "warning" and "unknown exchange 'binanse'" in notices[0][0]
    assert notices[-1] == (
        "replay demo.jsonl finished; figures stay at its last prices",
        "information",
    )


def test_one_builder_folds_replays_for_the_command_line_and_the_app():
    # The report folds with fold_replay and the app plays with ReplayFeed: both rest on
    # MarketStateBuilder.apply, so one bad event is dropped the same way in each.
    builder = MarketStateBuilder()
    assert builder.apply(ticker("BTC/USDT", 70_000.0)) is True
    assert builder.apply(ticker("BTC/USDT", -1.0)) is False
    assert builder.state().spot_price("BTC") == 70_000.0
