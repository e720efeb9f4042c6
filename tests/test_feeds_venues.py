"""Several venues in one market state: a replay that names two exchanges, the live
feed that follows each venue's own rows, and the merged feed of several feeds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from core.config import load_config
from core.engine import compute
from core.feeds.ccxt_feed import CcxtFeed, live_feed
from core.feeds.replay import ReplayFeed
from core.feeds.replay_file import load_replay_end
from core.feeds.venues import VenuesFeed
from core.model import Holding, Portfolio, Position, frozen_map

ROOT = Path(__file__).resolve().parent.parent
TS = 1_800_000_000_000
PERP = "BTC/USDT:USDT"


def events(exchange: str, spot: float, mark: float, ts: int = TS) -> list[dict]:
    market = {
        "symbol": PERP,
        "base": "BTC",
        "quote": "USDT",
        "type": "swap",
        "linear": True,
        "contractSize": 1.0,
        "swap": True,
    }
    return [
        {"ts": ts, "exchange": exchange, "type": "market", "data": market},
        {
            "ts": ts,
            "exchange": exchange,
            "type": "ticker",
            "data": {"symbol": "BTC/USDT", "last": spot},
        },
        {
            "ts": ts,
            "exchange": exchange,
            "type": "ticker",
            "data": {"symbol": PERP, "last": mark, "markPrice": mark},
        },
    ]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_replay_of_two_exchanges_keeps_each_venues_quotes_apart(tmp_path):
    # binance (the first exchange named: the default venue) marks the perp at 60,100,
    # bybit at 60,500; a bybit long of 1 BTC at 60,000 shows +500, the binance one +100.
    replay = write(
        tmp_path / "two.jsonl",
        events("binance", 60_000.0, 60_100.0) + events("bybit", 60_300.0, 60_500.0, TS + 1_000),
    )
    market = load_replay_end(replay)
    assert market.exchange == "binance"
    assert market.mark(PERP) == 60_100.0 and market.mark(f"{PERP}@bybit") == 60_500.0
    assert market.spot_price("BTC@bybit") == 60_300.0
    assert market.clock_ms == TS + 1_000
    book = Portfolio(
        collateral_usd=5_000.0,
        accounts=frozen_map({"bybit": 5_000.0}),
        holdings=(Holding("BTC", 1.0, venue="bybit"),),
        positions=(
            Position("bn", "alpha", PERP, "long", 1.0, 60_000.0, 5.0, "cross"),
            Position("bb", "alpha", PERP, "long", 1.0, 60_000.0, 5.0, "cross", venue="bybit"),
        ),
    )
    report = compute(book, market)
    assert report.position("bn").unrealized_pnl_usd == 100.0
    assert report.position("bb").unrealized_pnl_usd == 500.0
    assert report.holdings[0].price == 60_300.0
    assert sorted((b.venue, b.futures) for b in report.basis) == [
        ("binance", 60_100.0),
        ("bybit", 60_500.0),
    ]


async def test_the_merged_feed_publishes_every_venues_quotes(tmp_path):
    binance = write(tmp_path / "binance.jsonl", events("binance", 60_000.0, 60_100.0))
    bybit = write(tmp_path / "bybit.jsonl", events("bybit", 60_300.0, 60_500.0))
    feed = VenuesFeed(
        {"binance": ReplayFeed(binance, speed=None), "bybit": ReplayFeed(bybit, speed=None)},
        "binance",
    )
    await feed.start()
    seen = None
    async with asyncio.timeout(10):
        async for state in feed.updates():
            seen = state
            if state.mark(f"{PERP}@bybit") is not None:
                break
    await feed.stop()
    assert seen is not None
    assert seen.exchange == "binance"
    assert (seen.mark(PERP), seen.mark(f"{PERP}@bybit")) == (60_100.0, 60_500.0)


def test_the_live_feed_follows_each_venue_for_its_own_rows(tmp_path):
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        '[feed]\nkind = "ccxt"\nexchanges = ["binance", "bybit"]\nsymbols = ["BTC/USDT"]\n'
    )
    config = load_config(config_path)
    book = Portfolio(
        holdings=(Holding("SOL", 10.0, venue="bybit"),),
        positions=(
            Position("bn", "alpha", PERP, "long", 1.0, 60_000.0, 5.0),
            Position("bb", "alpha", "ETH/USDT:USDT", "short", 1.0, 3_000.0, 5.0, venue="bybit"),
        ),
    )
    feed = live_feed(config, book)
    assert isinstance(feed, VenuesFeed) and feed.default == "binance"
    binance, bybit = feed.feeds["binance"], feed.feeds["bybit"]
    assert isinstance(binance, CcxtFeed) and isinstance(bybit, CcxtFeed)
    assert set(binance.symbols) == {"BTC/USDT", PERP}
    assert set(bybit.symbols) == {"SOL/USDT", "ETH/USDT:USDT", "ETH/USDT"}


async def test_a_headless_snapshot_polls_every_venue_and_merges_them(tmp_path):
    # binance's and bybit's recorded answers, through ccxt's own parsers (HTTP substituted).
    from core.feeds.snapshot import fetch_snapshot
    from tests.test_feeds_ccxt import binance, bybit

    config_path = tmp_path / "config.toml"
    config_path.write_text(
        '[feed]\nkind = "ccxt"\nexchanges = ["binance", "bybit"]\n'
        'symbols = ["BTC/USDT", "BTC/USDT:USDT"]\n'
    )
    config = load_config(config_path)
    book = Portfolio(
        positions=(Position("bb", "alpha", PERP, "long", 1.0, 60_000.0, 5.0, venue="bybit"),)
    )
    bn, _ = binance()
    bb, _ = bybit()
    try:
        state = await fetch_snapshot(config, book, exchange={"binance": bn, "bybit": bb})
    finally:
        await bn.close()
        await bb.close()
    assert state.exchange == "binance" and state.status == "live"
    assert state.mark(PERP) is not None and state.mark(f"{PERP}@bybit") is not None
    # Each venue's own contract: bybit's recorded mark is not binance's.
    assert state.mark(f"{PERP}@bybit") != state.mark(PERP)
