"""Basis and funding history: bounded per contract, filled by a replay, signed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.risk.history import ContractHistory, history_from_replay
from tests.conftest import CLOCK_MS, make_market

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo.jsonl"
PERP = "BTC/USDT:USDT"


def test_the_ring_keeps_the_last_points_and_skips_a_repeated_quote():
    history = ContractHistory(points=3)
    for i, (mark, rate) in enumerate(
        [(50_050.0, 0.0001), (50_025.0, 0.00005), (49_975.0, -0.00002), (49_950.0, -0.0001)]
    ):
        market = make_market(
            {"BTC": 50_000.0}, {PERP: mark}, funding={PERP: rate}, clock_ms=CLOCK_MS + i * 1000
        )
        history.record(market)
        history.record(market)  # the same state twice is one observation
    # Oldest dropped; the basis crosses zero and stays signed: -0.05 %, -0.1 %.
    assert history.basis_pct(PERP) == pytest.approx([0.05, -0.05, -0.1])
    assert history.funding_rates(PERP) == [0.00005, -0.00002, -0.0001]
    assert history.previous_funding() == {PERP: -0.00002}


def test_a_replay_fills_one_point_per_timestamp(tmp_path):
    history = history_from_replay(DEMO, points=1000)
    timestamps = {json.loads(line)["ts"] for line in DEMO.read_text().splitlines() if line}
    assert set(history.symbols()) == {PERP, "ETH/USDT:USDT", "BTC/USDT:USDT-261225"}
    assert len(history.series(PERP)) == len(timestamps) == 301
    assert history.series("BTC/USDT:USDT-261225")[-1].funding_rate is None
    bounded = history_from_replay(DEMO, points=50)
    assert len(bounded.series(PERP)) == 50
    assert bounded.series(PERP) == history.series(PERP)[-50:]


def test_a_flip_in_a_recording_is_seen(tmp_path):
    path = tmp_path / "flip.jsonl"
    events = []
    for i, rate in enumerate([0.0001, 0.0001, -0.00005]):
        ts = CLOCK_MS + i * 60_000
        events.append(
            {
                "ts": ts,
                "type": "ticker",
                "exchange": "binance",
                "data": {"symbol": "BTC/USDT", "last": 50_000.0, "timestamp": ts},
            }
        )
        events.append(
            {
                "ts": ts,
                "type": "funding",
                "exchange": "binance",
                "data": {
                    "symbol": PERP,
                    "fundingRate": rate,
                    "markPrice": 50_010.0,
                    "timestamp": ts,
                    "interval": "8h",
                },
            }
        )
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    history = history_from_replay(path)
    assert history.funding_rates(PERP) == [0.0001, 0.0001, -0.00005]
    assert history.previous_funding() == {PERP: 0.0001}


def test_a_history_needs_two_points():
    with pytest.raises(ValueError):
        ContractHistory(points=1)
