"""The shipped snapshot of Binance's brackets: loading, maintenance amounts, feed fallback."""

from __future__ import annotations

import json
import math

import pytest

from core.margin import maintenance_margin, tier_for
from core.tiers_snapshot import (
    DEFAULT_RATE,
    LIVE,
    SNAPSHOT_DIR,
    SnapshotError,
    TierSources,
    load_snapshot,
    parse_snapshot,
)
from tests.test_feeds_ccxt import binance, make_feed


def test_the_snapshot_names_its_date_and_public_source():
    raw = json.loads((SNAPSHOT_DIR / "binance_usdm.json").read_text())
    assert raw["date"] == "2024-07-28"
    assert raw["source"].startswith("ccxt/ccxt ts/src/test/static/response/binance.json")
    assert len(raw["source_commit"]) == 40
    snapshot = load_snapshot("binance")
    assert snapshot is not None and snapshot.label == "snapshot of 2024-07-28"
    assert set(snapshot.tiers) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}


def test_btc_tiers_get_binances_maintenance_amounts():
    tiers = load_snapshot("binance").tiers["BTC/USDT:USDT"]
    # cum_n = cum_{n-1} + floor_n x (mmr_n - mmr_{n-1}):
    #   50,000 x (0.005 - 0.004) = 50;  + 250,000 x (0.01 - 0.005) = 1,300;
    #   + 3,000,000 x (0.025 - 0.01) = 46,300;  + 20,000,000 x 0.025 = 546,300.
    assert [t.cum for t in tiers[:5]] == pytest.approx([0, 50, 1_300, 46_300, 546_300])
    assert [t.max_notional for t in tiers[:3]] == [50_000, 250_000, 3_000_000]
    assert math.isinf(tiers[-1].max_notional) and tiers[-1].mmr == 0.5
    assert all(t.max_leverage is None for t in tiers)  # the source carries none


def test_maintenance_margin_is_continuous_at_each_floor():
    tiers = load_snapshot("binance").tiers["ETH/USDT:USDT"]
    for below, tier in zip(tiers, tiers[1:], strict=False):
        floor = tier.min_notional
        # e.g. ETH at 100,000: 100,000 x 0.005 = 500 = 100,000 x 0.0065 - 150.
        assert maintenance_margin(floor, below) == pytest.approx(maintenance_margin(floor, tier))
        assert tier_for(tiers, floor) is tier


def test_the_snapshot_agrees_with_binances_cum_in_the_feed_fixtures_brackets():
    recorded = json.loads(
        (SNAPSHOT_DIR.parent.parent / "tests/fixtures/feeds/binance_usdm.json").read_text()
    )["fapi/v1/leverageBracket"]
    snapshot = load_snapshot("binance").tiers
    for entry, symbol in zip(recorded, ("BTC/USDT:USDT", "ETH/USDT:USDT"), strict=True):
        # That answer has Binance's cum for its first brackets only.
        cums = [float(b["cum"]) for b in entry["brackets"]]
        assert len(cums) >= 3
        assert [t.cum for t in snapshot[symbol][: len(cums)]] == pytest.approx(cums)


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ({"BTC/USDT:USDT": [["100", "0.004"]]}, "the first tier must start at 0"),
        ({"BTC/USDT:USDT": [["0", "1.5"]]}, "mmr must be a fraction below 1"),
        ({"BTC/USDT:USDT": [["0", "x"]]}, "not a number"),
        ({"BTC/USDT:USDT": []}, "needs a non-empty list"),
    ],
)
def test_a_malformed_snapshot_is_refused_with_the_symbol(tiers, message):
    with pytest.raises(SnapshotError, match=message):
        parse_snapshot({"exchange": "binance", "date": "d", "source": "s", "tiers": tiers})


def test_sources_default_to_the_default_rate():
    sources = TierSources()
    sources.mark("BTC/USDT:USDT", LIVE)
    labels = sources.labels(["BTC/USDT:USDT", "BTC/USDT:USDT-251226"])
    assert labels == {"BTC/USDT:USDT": "live", "BTC/USDT:USDT-251226": DEFAULT_RATE}


async def test_without_a_key_the_feed_uses_the_snapshot_and_says_so():
    exchange, _ = binance(keys=False)
    try:
        feed = make_feed(exchange)
        state = await feed.poll_once()
    finally:
        await exchange.close()
    assert state.status == "live"
    assert state.tiers["BTC/USDT:USDT"] == load_snapshot("binance").tiers["BTC/USDT:USDT"]
    assert feed.tier_sources.labels(["BTC/USDT:USDT", "ETH/USDT:USDT"]) == {
        "BTC/USDT:USDT": "snapshot of 2024-07-28",
        "ETH/USDT:USDT": "snapshot of 2024-07-28",
    }


async def test_with_a_key_the_live_brackets_win_and_are_labelled_live():
    exchange, _ = binance(keys=True)
    try:
        feed = make_feed(exchange)
        state = await feed.poll_once()
    finally:
        await exchange.close()
    assert feed.tier_sources.label("BTC/USDT:USDT") == LIVE
    # Live brackets carry Binance's max leverage; the snapshot has none.
    assert state.tiers["BTC/USDT:USDT"][0].max_leverage in (125, 100)


def test_every_contract_of_a_market_state_gets_a_tier_source_label():
    from dataclasses import replace

    from core.engine import compute
    from core.feeds.replay_file import load_replay_end
    from core.model import Portfolio, Position, frozen_map

    demo = load_replay_end(SNAPSHOT_DIR.parent / "demo.jsonl")
    for symbol in demo.contracts:
        label = demo.tier_source(symbol)
        assert label == ("recorded" if demo.tiers.get(symbol) else DEFAULT_RATE)
    first = next(s for s in demo.contracts if demo.tiers.get(s))
    labelled = replace(demo, tier_sources=frozen_map({first: "snapshot of 2024-07-28"}))
    assert labelled.tier_source(first) == "snapshot of 2024-07-28"
    # The report says it per position.
    book = Portfolio(positions=(Position("p", "alpha", first, "long", 0.1, 60_000.0, 2.0),))
    assert compute(book, labelled).position("p").tier_source == "snapshot of 2024-07-28"
