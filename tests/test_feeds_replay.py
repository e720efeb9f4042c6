"""Replay feed, recorder round trip, live snapshot and the report command's fallback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import ccxt
import pytest

from core.config import load_config, load_portfolio
from core.feeds.base import Feed
from core.feeds.recorder import EventWriter, record_feed
from core.feeds.replay import ReplayFeed
from core.feeds.replay_file import load_replay_end, read_events
from core.feeds.snapshot import OfflineError, fetch_snapshot
from tests.test_feeds_ccxt import BTC_SPOT, binance, make_feed

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.jsonl"


def write_events(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


# Replay clocks start here (2027): timestamps outside 2000-2100 are dropped as bad data.
T0 = 1_800_000_000_000


def tick(ts: int, price: float, symbol: str = "BTC/USDT") -> dict:
    """A spot ticker received `ts` ms after T0."""
    return {
        "ts": T0 + ts,
        "exchange": "binance",
        "type": "ticker",
        "data": {"symbol": symbol, "timestamp": T0 + ts, "last": price},
    }


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


# -- replay feed ----------------------------------------------------------------------------


async def test_replay_at_recorded_speed_waits_the_recorded_gaps_and_ends_on_the_last_tick(
    tmp_path,
):
    path = write_events(
        tmp_path / "r.jsonl",
        [tick(1_000, 100.0), tick(1_000, 10.0, "ETH/USDT"), tick(3_000, 101.0), tick(3_500, 102.0)],
    )
    sleep = RecordingSleep()
    feed = ReplayFeed(path, speed=1.0, sleep=sleep)
    assert isinstance(feed, Feed)
    seen = []
    feed.subscribe(lambda state: seen.append((state.clock_ms, state.spot_price("BTC"))))
    await feed.start()
    final = await feed.wait_finished()
    await feed.stop()
    assert sleep.delays == [2.0, 0.5]
    # Events with one timestamp arrive as one state; the replay's clock is its latest ts.
    assert seen == [(T0 + 1_000, 100.0), (T0 + 3_000, 101.0), (T0 + 3_500, 102.0)]
    assert final.status == "replay"
    assert final.spot_price("ETH") == 10.0
    assert feed.finished


async def test_replay_speed_factor_divides_the_gaps(tmp_path):
    path = write_events(tmp_path / "r.jsonl", [tick(0, 1.0), tick(10_000, 2.0)])
    sleep = RecordingSleep()
    feed = ReplayFeed(path, speed=20.0, sleep=sleep)
    await feed.start()
    await feed.wait_finished()
    assert sleep.delays == [0.5]


async def test_jump_to_end_plays_the_rest_without_waiting(tmp_path):
    path = write_events(
        tmp_path / "r.jsonl", [tick(0, 1.0), tick(3_600_000, 2.0), tick(7_200_000, 3.0)]
    )
    feed = ReplayFeed(path, speed=1.0)  # real sleeps: an hour between events
    await feed.start()
    async for state in feed.updates():
        assert state.spot_price("BTC") == 1.0
        feed.jump_to_end()
        break
    final = await feed.wait_finished()
    assert final.spot_price("BTC") == 3.0
    assert final.clock_ms == T0 + 7_200_000


async def test_the_demo_replay_ends_where_the_reader_does_and_says_it_is_made_up():
    feed = ReplayFeed(DEMO, speed=None)
    states = []
    feed.subscribe(states.append)
    await feed.start()
    final = await feed.wait_finished()
    assert final == load_replay_end(DEMO)
    assert final.note == "made-up demo data, not a recording"
    assert len(states) > 200  # one state per recorded second, not one per event


def test_the_demo_has_spot_perps_with_funding_a_dated_future_and_binance_tiers():
    events = list(read_events(DEMO))
    assert events[0]["note"] == "made-up demo data, not a recording"
    assert DEMO.stat().st_size < 1_000_000
    assert (events[-1]["ts"] - events[0]["ts"]) / 1000 >= 180
    state = load_replay_end(DEMO)
    assert state.spot_price("BTC") == pytest.approx(60_000, rel=0.02)
    assert state.spot_price("ETH") == pytest.approx(2_500, rel=0.02)
    for symbol in ("BTC/USDT:USDT", "ETH/USDT:USDT"):
        assert state.contracts[symbol].funding_rate is not None
        assert state.contracts[symbol].next_funding_ms > state.clock_ms
    future = state.contracts["BTC/USDT:USDT-261225"]
    assert future.kind == "future" and future.expiry_ms > state.clock_ms
    assert future.mark > state.spot_price("BTC")
    recorded = json.loads((ROOT / "tests/fixtures/ccxt/binance_responses.json").read_text())
    brackets = recorded["options"]["leverageBrackets"]["BTC/USDT:USDT"]
    tiers = state.tiers["BTC/USDT:USDT"]
    assert [(t.min_notional, t.mmr) for t in tiers] == [(float(f), float(m)) for f, m in brackets]


def test_make_demo_regenerates_the_committed_file(tmp_path):
    out = tmp_path / "demo.jsonl"
    subprocess.run([sys.executable, str(ROOT / "data" / "make_demo.py"), str(out)], check=True)
    assert out.read_bytes() == DEMO.read_bytes()


# -- recorder -------------------------------------------------------------------------------


async def test_record_then_replay_gives_the_same_market_state(tmp_path):
    exchange, _ = binance(keys=True)
    out = tmp_path / "rec.jsonl"
    writer = EventWriter(out)
    try:
        feed = make_feed(exchange)
        feed.add_event_sink(writer)
        await feed.poll_once()
        feed._clock_ms.now += 5_000
        live = await feed.poll_once()
    finally:
        writer.close()
        await exchange.close()
    types = {e["type"] for e in read_events(out)}
    assert types == {"market", "ticker", "funding", "tiers"}
    assert all(e["exchange"] == "binance" for e in read_events(out))
    replayed = load_replay_end(out)
    assert replayed == replace(live, status="replay")
    assert replayed.spot_price("BTC") == BTC_SPOT
    assert replayed.tiers["BTC/USDT:USDT"] == live.tiers["BTC/USDT:USDT"]


async def test_an_interrupted_recording_is_still_a_valid_replay_file(tmp_path):
    exchange, _ = binance()
    out = tmp_path / "rec.jsonl"
    feed = make_feed(exchange)
    feed.refresh_s = 0
    task = asyncio.create_task(record_feed(feed, out, None))
    for _ in range(10_000):
        if out.exists() and out.stat().st_size > 0:
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await exchange.close()
    assert load_replay_end(out).spot_price("BTC") == BTC_SPOT


# -- live snapshot and the report command ---------------------------------------------------


@pytest.fixture
def config():
    return load_config(ROOT / "config.toml")


async def test_snapshot_is_live_from_one_pass(config):
    exchange, _ = binance()
    portfolio = load_portfolio(config.portfolio_path).portfolio
    try:
        state = await fetch_snapshot(config, portfolio, exchange=exchange)
    finally:
        await exchange.close()
    assert state.status == "live"
    assert state.spot_price("BTC") == BTC_SPOT


async def test_snapshot_raises_offline_when_the_exchange_does_not_answer(config):
    exchange, http = binance()
    http.faults = [ccxt.RequestTimeout("binance GET https://api.binance.com timed out")] * 9
    try:
        with pytest.raises(OfflineError, match="RequestTimeout"):
            await fetch_snapshot(config, None, exchange=exchange)
    finally:
        await exchange.close()


async def test_snapshot_gives_up_at_its_deadline_instead_of_hanging(config):
    exchange, _ = binance()

    async def never_answers(url, method="GET", headers=None, body=None):
        await asyncio.Event().wait()

    exchange.fetch = never_answers
    try:
        with pytest.raises(OfflineError, match="no answer within"):
            await fetch_snapshot(config, None, exchange=exchange, deadline_s=0.05)
    finally:
        await exchange.close()


def run_cli(*args: str, offline: bool = False) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    if offline:
        env["SYMBIOSIS_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_report_on_the_demo_replay_prints_json():
    done = run_cli("report", "--replay", "data/demo.jsonl", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["equity"] > 0
    assert {b["symbol"] for b in report["basis"]} >= {"BTC/USDT:USDT-261225"}
    assert done.stderr == ""


def test_report_with_the_default_config_offline_says_so_once_and_uses_the_replay():
    done = run_cli("report", "--json", offline=True)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("offline")
    assert json.loads(done.stdout)["totals"]["equity"] > 0
