"""Basis and funding history: bounded per contract, filled by a replay, signed."""

from __future__ import annotations

import gc
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


def test_a_full_history_leaves_the_garbage_collector_nothing_to_scan():
    # 1,000 observations kept (1,000 states x 1 contract): once collected, the points
    # are no longer tracked, so the collector's full passes (pauses on a keystroke)
    # do not grow with the history. A tracked object per point would add 1,000.
    history = ContractHistory(points=1_000)
    gc.collect()
    before = len(gc.get_objects())
    for i in range(1_000):
        market = make_market({"BTC": 50_000.0}, {PERP: 50_000.0 + i}, clock_ms=CLOCK_MS + i * 1_000)
        history.record(market)
    del market
    gc.collect()
    assert len(history.series(PERP)) == 1_000
    assert len(gc.get_objects()) - before < 100


def test_a_history_needs_two_points():
    with pytest.raises(ValueError):
        ContractHistory(points=1)


def test_realised_funding_from_the_ledger_beside_price_pnl(tmp_path):
    from core.engine import compute
    from core.importer.accounts import FundingPayment
    from core.ledger import append_funding, funding_totals
    from core.model import Holding, Portfolio, Position, Settings
    from core.risk.funding_pnl import funding_beside_pnl

    ledger = tmp_path / "funding_ledger.parquet"
    append_funding(
        ledger,
        [
            FundingPayment("binance", "1", PERP, "USDT", CLOCK_MS - 16 * 3_600_000, 5.0),
            FundingPayment("binance", "2", PERP, "USDT", CLOCK_MS - 8 * 3_600_000, 2.5),
            FundingPayment("binance", "3", PERP, "USDT", CLOCK_MS, -1.25),
            FundingPayment("bybit", "9", PERP, "USDT", CLOCK_MS, 100.0),  # not this book's
        ],
    )
    market = make_market({"BTC": 50_000.0}, {PERP: 49_000.0})
    market = type(market)(**{**market.__dict__, "exchange": "binance"})
    portfolio = Portfolio(
        collateral_usd=10_000.0,
        holdings=(Holding("BTC", 1.0),),
        positions=(Position("h-btc", "hedge", PERP, "short", 0.5, 50_000.0, 5.0, "cross"),),
    )
    report = compute(portfolio, market, 0.0, Settings())
    (row,) = funding_beside_pnl(report, portfolio, market, funding_totals(ledger))
    # Short 0.5 from 50,000 to 49,000: +500 of price P&L; funding 5 + 2.5 - 1.25 = +6.25.
    assert (row.venue, row.symbol, row.position_ids) == ("binance", PERP, ("h-btc",))
    assert row.price_pnl_usd == pytest.approx(500.0)
    assert row.funding_usd == pytest.approx(6.25)
    assert row.payments == 3
