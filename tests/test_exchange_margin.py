"""Margin as the exchange computes it: per-account ratios, the tier at the liquidation
price, scenario liquidations that cap losses, and the shock to liquidation."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.engine import compute
from core.margin import (
    liquidation_price_at_tier,
    maintenance_margin,
    tier_for,
    with_maintenance_amounts,
)
from core.model import Holding, Portfolio, Position, Settings, Tier, frozen_map
from tests.conftest import make_market as make_quotes

PERP = "BTC/USDT:USDT"
ETH_PERP = "ETH/USDT:USDT"
# Binance's USDⓈ-M BTCUSDT brackets of its liquidation FAQ (see tests/test_margin.py):
# 0-50k 0.4 %, 50k-250k 0.5 % (cum 50), 250k-1M 1 % (cum 1,300), 1M-10M 2.5 % (cum 16,300).
FAQ_TIERS = with_maintenance_amounts(
    [
        Tier(0.0, 50_000.0, 0.004, 125),
        Tier(50_000.0, 250_000.0, 0.005, 100),
        Tier(250_000.0, 1_000_000.0, 0.01, 50),
        Tier(1_000_000.0, 10_000_000.0, 0.025, 20),
    ]
)


def make_market(*args, **kwargs):
    """The quotes of tests.conftest, on binance (the default venue)."""
    return replace(make_quotes(*args, **kwargs), exchange="binance")


def position(pid: str, symbol: str, side: str, size: float, entry: float, lev: float, **kw):
    return Position(pid, kw.pop("book", "alpha"), symbol, side, size, entry, lev, **kw)


def test_binance_published_cross_example_to_the_cent():
    # Binance's cross-margin example: wallet 1,535,443.01; BTCUSDT long 109.488 @ 32,481.98
    # mark 31,967.27 (notional 3.5M: 2.5 %, cum 16,300); ETHUSDT long 3,683.979 @ 1,456.84
    # mark 1,335.18 (10 %, cum 135,365) -> cross LP ETH 1,153.26, BTC 26,316.89.
    eth_tiers = (Tier(0.0, math.inf, 0.10, None, 135_365.0),)
    market = make_market(
        {"BTC": 31_967.27, "ETH": 1_335.18},
        {PERP: 31_967.27, ETH_PERP: 1_335.18},
        tiers={PERP: FAQ_TIERS, ETH_PERP: eth_tiers},
    )
    book = Portfolio(
        collateral_usd=1_535_443.01,
        positions=(
            position("btc", PERP, "long", 109.488, 32_481.98, 20.0, margin_mode="cross"),
            position("eth", ETH_PERP, "long", 3_683.979, 1_456.84, 10.0, margin_mode="cross"),
        ),
    )
    report = compute(book, market)
    assert round(report.position("btc").liquidation_price, 2) == 26_316.89
    assert round(report.position("eth").liquidation_price, 2) == 1_153.26
    # BTC's notional at its liquidation price, 109.488 x 26,316.89 = 2.88M, is in the
    # 2.5 % tier: the tier at the liquidation price is the one used.
    assert 1_000_000 <= 109.488 * report.position("btc").liquidation_price < 10_000_000


def test_the_liquidation_price_uses_the_tier_at_that_price_not_today():
    # 5 BTC long at 60,000, mark 60,000: notional 300,000 is in tier 3 (1 %, cum 1,300).
    # Isolated wallet 90,000 (3.33x). With tier 3:
    #   LP = (90,000 + 1,300 - 300,000) / (5 x 0.01 - 5) = -208,700 / -4.95 = 42,161.62,
    #   whose notional 210,808 is in tier 2, not 3: rejected.
    # With tier 2 (0.5 %, cum 50):
    #   LP = (90,000 + 50 - 300,000) / (5 x 0.005 - 5) = -209,950 / -4.975 = 42,201.01,
    #   notional 211,005 in [50,000, 250,000): kept.
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0}, tiers={PERP: FAQ_TIERS})
    long = position("l", PERP, "long", 5.0, 60_000.0, 10.0, margin_usd=90_000.0)
    row = compute(Portfolio(positions=(long,)), market).position("l")
    assert row.maintenance_margin_rate == 0.01  # today's tier
    assert row.liquidation_price == pytest.approx(209_950.0 / 4.975, rel=1e-12)
    # At that price the margin balance equals the tiered maintenance margin exactly.
    lp = row.liquidation_price
    balance = 90_000.0 + (lp - 60_000.0) * 5.0
    assert balance == pytest.approx(maintenance_margin(5.0 * lp, tier_for(FAQ_TIERS, 5.0 * lp)))


def test_isolated_and_cross_ratios_stay_apart_and_the_worst_decides_health():
    # Cross wallet 20,000 holds a 1 BTC cross short at 60,000 (MM 60,000 x 0.5 % - 50 = 250,
    # balance 20,000: 1.25 %). An isolated 10x long, 1 BTC with 6,300 margin, uPnL 0:
    # MM 250 on 6,300 = 3.97 %. The profit of one never lends to the other.
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0}, tiers={PERP: FAQ_TIERS})
    book = Portfolio(
        collateral_usd=20_000.0,
        positions=(
            position("x", PERP, "short", 1.0, 60_000.0, 5.0, margin_mode="cross"),
            position("i", PERP, "long", 1.0, 60_000.0, 10.0, margin_usd=6_300.0),
        ),
    )
    report = compute(book, market)
    assert report.position("x").margin_ratio == pytest.approx(250.0 / 20_000.0)
    assert report.position("i").margin_ratio == pytest.approx(250.0 / 6_300.0)
    assert report.totals.cross_margin_ratio == pytest.approx(250.0 / 20_000.0)
    assert report.totals.margin_ratio == pytest.approx(250.0 / 6_300.0)
    assert [(a.venue, a.collateral_usd) for a in report.accounts] == [("binance", 20_000.0)]


def test_a_liquidated_isolated_long_loses_its_margin_and_no_more():
    # 0.2 BTC 5x isolated long at 60,000 with 10,000 margin (the article's "lost 10,802"):
    # at -45 % the mark is 33,000 and the uPnL would be -5,400... scale it up: 1 BTC, 10,000
    # margin, -45 %: uPnL -27,000, far past the margin. The exchange liquidates it; the
    # scenario loses 10,000 (margin + uPnL now = 10,000 + 0), never 27,000.
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0}, tiers={PERP: FAQ_TIERS})
    long = position("l", PERP, "long", 1.0, 60_000.0, 6.0, margin_usd=10_000.0)
    book = Portfolio(collateral_usd=5_000.0, positions=(long,))
    report = compute(book, market, -45.0)
    assert report.scenario.liquidated == ("l",)
    assert report.scenario.pnl_usd == pytest.approx(-10_000.0)
    assert report.scenario.equity == pytest.approx(15_000.0 - 10_000.0)
    # Nothing left open: the scenario's margin ratio is 0, health ok.
    assert report.scenario.margin_ratio == 0.0
    assert report.scenario.health == "ok"


def test_a_breached_cross_account_loses_its_wallet_and_every_cross_position():
    # Wallet 10,000: cross longs 1 BTC @ 60,000 and 10 ETH @ 3,000 (MM at the default 0.5 %).
    # -16 %: balance 10,000 - 9,600 - 4,800 < 0 -> breached; the account's P&L is
    # -(10,000 + 0) = -10,000, not the -14,400 the marks would say. The isolated 1x long
    # (0.1 BTC, margin 6,000) survives and moves: -960.
    market = make_market({"BTC": 60_000.0, "ETH": 3_000.0}, {PERP: 60_000.0, ETH_PERP: 3_000.0})
    book = Portfolio(
        collateral_usd=10_000.0,
        positions=(
            position("x1", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross"),
            position("x2", ETH_PERP, "long", 10.0, 3_000.0, 10.0, margin_mode="cross"),
            position("safe", PERP, "long", 0.1, 60_000.0, 1.0),
        ),
    )
    report = compute(book, market, -16.0)
    assert report.scenario.liquidated == ("x1", "x2")
    assert report.scenario.pnl_usd == pytest.approx(-10_000.0 - 960.0)
    # The ratio is over what is still open: the isolated long, MM 5,040 x 0.5 % = 25.2 on
    # 6,000 - 960 = 5,040 -> 0.5 %.
    assert report.scenario.margin_ratio == pytest.approx(25.2 / 5_040.0)


def test_a_rally_liquidates_a_hedge_although_the_spot_it_hedges_gains():
    # Spot 1 BTC on a spot wallet; short 1 BTC perp, cross, wallet 20,000 (3x). The spot
    # cannot margin the short: at about +33 % the cross wallet is gone.
    # LP = (20,000 + 50 + 60,000) / (0.005 + 1) = 79,651.74 (tier 2 at that notional)
    # -> shock (79,651.74 / 60,000 - 1) = +32.75 %, reported rounded away from 0: +32.76 %.
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0}, tiers={PERP: FAQ_TIERS})
    book = Portfolio(
        collateral_usd=20_000.0,
        holdings=(Holding("BTC", 1.0),),
        positions=(
            position("h", PERP, "short", 1.0, 60_000.0, 3.0, book="hedge", margin_mode="cross"),
        ),
    )
    report = compute(book, market)
    assert report.position("h").liquidation_price == pytest.approx(80_050.0 / 1.005)
    assert report.position("h").liquidation_shock_pct == 32.76
    assert report.totals.liquidation_shock_up_pct == 32.76
    assert report.totals.liquidation_shock_down_pct is None
    rally = compute(book, market, 32.76)
    assert rally.scenario.liquidated == ("h",)
    # The spot gained 19,656 while the hedge lost its whole wallet, 20,000.
    assert rally.scenario.pnl_usd == pytest.approx(60_000.0 * 0.3276 - 20_000.0)
    assert compute(book, market, 32.74).scenario.liquidated == ()


def test_a_bybit_wallet_never_supports_a_binance_position():
    # The same 10x cross long on each venue's account: binance's wallet 1,000 (+ uPnL 0)
    # against MM 300, bybit's 50,000 against its own 300. Binance's ratio is 30 %, not
    # 300 / 51,000.
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0})
    book = Portfolio(
        collateral_usd=1_000.0,
        accounts=frozen_map({"bybit": 50_000.0}),
        positions=(
            position("bn", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross"),
            position("bb", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross", venue="bybit"),
        ),
    )
    report = compute(book, market)
    ratios = {a.venue: a.cross_margin_ratio for a in report.accounts}
    assert ratios == {"binance": pytest.approx(0.3), "bybit": pytest.approx(300 / 50_000)}
    assert report.totals.cross_margin_ratio == pytest.approx(0.3)
    assert report.position("bn").venue == "binance" and report.position("bb").venue == "bybit"
    assert report.totals.equity == pytest.approx(51_000.0)
    # A -3 % move breaches binance's account (1,000 - 1,800 < 0) and not bybit's.
    assert compute(book, market, -3.0).scenario.liquidated == ("bn",)


def test_a_position_naming_the_default_venue_is_on_the_default_account():
    # venue="binance" on a binance market is the default venue spelled out: the same
    # account, the same figures as no venue at all, and bybit stays apart.
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0})

    def book(venue: str) -> Portfolio:
        return Portfolio(
            collateral_usd=1_000.0,
            accounts=frozen_map({"bybit": 50_000.0}),
            positions=(
                position("bn", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross", venue=venue),
                position(
                    "bb", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross", venue="bybit"
                ),
            ),
        )

    named, unnamed = compute(book("binance"), market), compute(book(""), market)
    assert named.to_json() == unnamed.to_json()
    assert [a.venue for a in named.accounts] == ["binance", "bybit"]


# --- properties ------------------------------------------------------------------------

sizes = st.floats(0.01, 20.0, allow_nan=False)
leverages = st.sampled_from([1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0])
betas = st.sampled_from([0.8, 1.0, 1.2, 1.5, 2.0])


@st.composite
def books(draw):
    """A book of 1-4 positions on BTC and ETH, isolated and cross, with FAQ tiers."""
    btc, eth = draw(st.floats(20_000, 100_000)), draw(st.floats(1_000, 5_000))
    marks = {PERP: btc, ETH_PERP: eth}
    positions = []
    for i in range(draw(st.integers(1, 4))):
        symbol = draw(st.sampled_from([PERP, ETH_PERP]))
        mark = marks[symbol]
        entry = mark * draw(st.floats(0.8, 1.2))
        size = draw(sizes) * (1.0 if symbol == PERP else 20.0)
        lev = draw(leverages)
        mode = draw(st.sampled_from(["isolated", "cross"]))
        positions.append(
            position(
                f"p{i}",
                symbol,
                draw(st.sampled_from(["long", "short"])),
                size,
                entry,
                lev,
                margin_mode=mode,
            )
        )
    market = make_market(
        {"BTC": btc, "ETH": eth}, marks, tiers={PERP: FAQ_TIERS, ETH_PERP: FAQ_TIERS}
    )
    collateral = draw(st.floats(0.0, 200_000.0))
    spot = draw(st.floats(0.0, 5.0))
    book = Portfolio(
        collateral_usd=collateral, holdings=(Holding("BTC", spot),), positions=tuple(positions)
    )
    return book, market, Settings(betas=frozen_map({"ETH": draw(betas)}))


@settings(max_examples=60, deadline=None)
@given(case=books())
def test_at_the_reported_shock_to_liquidation_it_is_liquidated_and_nearer_zero_it_is_not(case):
    book, market, config = case
    report = compute(book, market, 0.0, config)
    for row in report.positions:
        shock = row.liquidation_shock_pct
        if shock is None or shock == 0.0:
            continue
        assert row.id in compute(book, market, shock, config).scenario.liquidated
        nearer = shock - math.copysign(0.02, shock)
        assert row.id not in compute(book, market, nearer, config).scenario.liquidated
    # The smallest fall and rise that liquidate anything (0 when something is already gone).
    for edge, way in (
        (report.totals.liquidation_shock_down_pct, -1.0),
        (report.totals.liquidation_shock_up_pct, 1.0),
    ):
        if edge is None or edge == 0.0:
            continue
        assert compute(book, market, edge, config).scenario.liquidated
        nearer = edge - way * 0.02 if abs(edge) > 0.02 else 0.0
        assert not compute(book, market, nearer, config).scenario.liquidated


@settings(max_examples=60, deadline=None)
@given(case=books(), shock=st.floats(-99.0, 300.0))
def test_the_scenario_loss_never_exceeds_spot_value_plus_all_margin_and_collateral(case, shock):
    book, market, config = case
    report = compute(book, market, shock, config)
    at_risk = report.totals.spot_value_usd + book.collateral_usd + report.totals.isolated_margin_usd
    # A position's uPnL now is part of what it can lose; what it gained is not at risk.
    at_risk += sum(max(p.unrealized_pnl_usd, 0.0) for p in report.positions)
    assert report.scenario.pnl_usd >= -at_risk - 1e-6 * (1 + at_risk)


@settings(max_examples=60, deadline=None)
@given(case=books())
def test_the_isolated_liquidation_price_is_where_margin_balance_meets_tiered_mm(case):
    book, market, config = case
    report = compute(book, market, 0.0, config)
    for p in book.positions:
        row = report.position(p.id)
        if p.margin_mode != "isolated":
            continue
        expected = liquidation_price_at_tier(
            p.sign, p.size, p.entry_price, p.isolated_margin(), FAQ_TIERS
        )
        if expected is None:
            assert row.liquidation_price is None
            continue
        assert row.liquidation_price == pytest.approx(expected, rel=1e-9)
        lp = row.liquidation_price
        balance = p.isolated_margin() + (lp - p.entry_price) * p.size * p.sign
        mm = maintenance_margin(p.size * lp, tier_for(FAQ_TIERS, p.size * lp))
        assert balance == pytest.approx(mm, rel=1e-6, abs=1e-6 * p.size * lp)


def test_each_position_is_marked_on_its_own_venue_and_each_holding_on_its_venue():
    # binance quotes BTC spot 60,000 and the perp at 60,100; bybit quotes spot 60,300 and
    # its perp at 60,500. A bybit long of 1 BTC at 60,000 shows uPnL +500 (bybit's mark),
    # the binance one +100. The BTC held on bybit is valued at bybit's spot (60,300); SOL,
    # held on the default venue that does not quote it, at the first venue that does.
    binance = make_market({"BTC": 60_000.0}, {PERP: 60_100.0})
    bybit = make_quotes({"BTC": 60_300.0, "SOL": 150.0}, {PERP: 60_500.0})
    market = replace(
        binance,
        spot=frozen_map({**binance.spot, **{f"{a}@bybit": q for a, q in bybit.spot.items()}}),
        contracts=frozen_map(
            {**binance.contracts, **{f"{s}@bybit": q for s, q in bybit.contracts.items()}}
        ),
    )
    book = Portfolio(
        collateral_usd=10_000.0,
        accounts=frozen_map({"bybit": 10_000.0}),
        holdings=(Holding("BTC", 1.0, venue="bybit"), Holding("SOL", 10.0)),
        positions=(
            position("bn", PERP, "long", 1.0, 60_000.0, 5.0, margin_mode="cross"),
            position("bb", PERP, "long", 1.0, 60_000.0, 5.0, margin_mode="cross", venue="bybit"),
        ),
    )
    report = compute(book, market)
    assert report.position("bn").mark_price == 60_100.0
    assert report.position("bb").mark_price == 60_500.0
    assert report.position("bb").unrealized_pnl_usd == pytest.approx(500.0)
    values = {h.asset: h.value_usd for h in report.holdings}
    assert values == {"BTC": 60_300.0, "SOL": 1_500.0}
    venues = sorted((b.venue, b.symbol, b.spot) for b in report.basis)
    assert venues == [("binance", PERP, 60_000.0), ("bybit", PERP, 60_300.0)]
