"""compute(): vectorised figures against the scalar references and hand-computed numbers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.engine import UnsupportedContractError, compute
from core.margin import with_maintenance_amounts
from core.model import (
    ContractQuote,
    Holding,
    MarketState,
    Portfolio,
    Position,
    Settings,
    Tier,
    frozen_map,
)
from tests.conftest import BTC_TIERS, CLOCK_MS, make_market, reference_figures

PERP = "BTC/USDT:USDT"
ETH_PERP = "ETH/USDT:USDT"
SOL_PERP = "SOL/USDT:USDT"
FUTURE = "BTC/USDT:USDT-270326"
DAY_MS = 86_400_000
SOL_TIERS = with_maintenance_amounts([Tier(0.0, 10_000.0, 0.01), Tier(10_000.0, 100_000.0, 0.025)])
ETH_BETA = Settings(betas=frozen_map({"ETH": 1.2}))


def future(pid: str, symbol: str, side: str, size: float, entry: float, lev: float, **kw):
    """A position in the alpha book unless book= says otherwise."""
    return Position(pid, kw.pop("book", "alpha"), symbol, side, size, entry, lev, **kw)


# --- engine vs scalar reference -------------------------------------------------------


def mixed_book() -> tuple[Portfolio, MarketState]:
    market = make_market(
        {"BTC": 62_000.0, "ETH": 3_100.0, "SOL": 150.0},
        {PERP: 62_000.0, ETH_PERP: 3_100.0, SOL_PERP: 150.0},
        tiers={PERP: BTC_TIERS, SOL_PERP: SOL_TIERS},
    )
    book = Portfolio(
        collateral_usd=20_000.0,
        positions=(
            # 31,000 notional: BTC tier 1
            future("iso-long-t1", PERP, "long", 0.5, 60_000.0, 3.0, margin_usd=10_000.0),
            # 124,000 notional: tier 2; margin defaults to 122,000 / 5 = 24,400
            future("iso-short-t2", PERP, "short", 2.0, 61_000.0, 5.0),
            # 744,000 notional: tier 3
            future("iso-long-t3", PERP, "long", 12.0, 60_000.0, 10.0),
            future("x-long", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross"),
            future("x-short-eth", ETH_PERP, "short", 10.0, 3_000.0, 5.0, margin_mode="cross"),
            # 15,000 notional: SOL tier 2 (2.5 %, cum 10,000 x 1.5 % = 150)
            future("x-long-sol", SOL_PERP, "long", 100.0, 140.0, 4.0, margin_mode="cross"),
        ),
    )
    return book, market


def test_vectorised_figures_equal_the_scalar_references_for_every_position():
    book, market = mixed_book()
    report = compute(book, market)
    expected = reference_figures(book, market)
    assert {p.id for p in report.positions} == set(expected)
    for row in report.positions:
        ref = expected[row.id]
        assert row.notional_usd == pytest.approx(ref["notional"], rel=1e-12), row.id
        assert row.unrealized_pnl_usd == pytest.approx(ref["upnl"], rel=1e-12, abs=1e-9), row.id
        assert row.maintenance_margin_usd == pytest.approx(ref["mm"], rel=1e-12), row.id
        assert row.maintenance_margin_rate == ref["mmr"], row.id
        assert row.liquidation_price == pytest.approx(ref["liquidation_price"], rel=1e-12), row.id
        assert row.distance_to_liquidation_pct == pytest.approx(ref["distance_pct"], rel=1e-9)
    # Tiers really differ across the book.
    assert [
        report.position(i).maintenance_margin_rate for i in ("iso-long-t1", "iso-short-t2")
    ] == [
        0.004,
        0.005,
    ]
    assert report.position("iso-long-t3").maintenance_margin_rate == 0.0065
    assert report.position("x-long-sol").maintenance_margin_rate == 0.025


def test_tier_three_isolated_long_by_hand():
    book, market = mixed_book()
    row = compute(book, market).position("iso-long-t3")
    # margin 720,000 / 10 = 72,000; tier 3: mmr 0.65 %, cum 50 + 600,000 x 0.15 % = 950
    # LP = (72,000 + 950 - 12 x 60,000) / (12 x 0.0065 - 12) = -647,050 / -11.922 = 54,273.61
    assert row.liquidation_price == pytest.approx(54_273.61181009898, rel=1e-12)
    # MM = 744,000 x 0.65 % - 950 = 3,886
    assert row.maintenance_margin_usd == pytest.approx(3_886.0)


def test_cross_positions_use_the_other_cross_positions_but_not_the_isolated_ones():
    market = make_market(
        {"BTC": 62_000.0, "ETH": 3_100.0}, {PERP: 62_000.0, ETH_PERP: 3_100.0}, {PERP: BTC_TIERS}
    )
    cross = (
        future("a", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross"),
        future("b", ETH_PERP, "short", 10.0, 3_000.0, 5.0, margin_mode="cross"),
    )
    isolated = future("iso", PERP, "short", 3.0, 50_000.0, 2.0)
    report = compute(Portfolio(collateral_usd=20_000.0, positions=(*cross, isolated)), market)
    # As tests/test_margin.py's cross case (ETH at the default 0.5 % rate), but with the
    # tier AT the liquidation price: a's notional there is ~41,300, in tier 1 (0.4 %, cum 0),
    # not tier 2 where its 62,000 notional sits now:
    # LP_a = (20,000 - 155 - 1,000 + 0 - 60,000) / (0.004 - 1) = -41,155 / -0.996 = 41,320.28
    # (with tier 2 it would be (... + 50) / (0.005 - 1) = 41,311.56, whose notional is not
    # in tier 2: Binance's rule rejects it.)
    # LP_b = (20,000 - 260 + 2,000 + 30,000) / (0.05 + 10) = 5,148.26 (one tier)
    assert report.position("a").liquidation_price == pytest.approx(41_320.28112449799)
    assert report.position("b").liquidation_price == pytest.approx(5_148.258706467662)


# --- PnL, funding, basis, carry -------------------------------------------------------


def test_unrealized_pnl_and_funding_longs_pay_shorts_when_the_rate_is_positive():
    market = make_market({"BTC": 60_000.0}, {PERP: 61_000.0}, funding={PERP: 0.0001})
    book = Portfolio(
        collateral_usd=50_000.0,
        positions=(
            future("long", PERP, "long", 1.0, 60_000.0, 5.0, margin_mode="cross"),
            future("short", PERP, "short", 1.0, 62_000.0, 5.0, margin_mode="cross"),
        ),
    )
    report = compute(book, market)
    long, short = report.position("long"), report.position("short")
    assert long.unrealized_pnl_usd == pytest.approx(1_000.0)  # (61,000 - 60,000) x 1
    assert short.unrealized_pnl_usd == pytest.approx(1_000.0)  # (61,000 - 62,000) x 1 x -1
    # payment per period = 61,000 x 0.0001 = 6.10: the long pays, the short receives
    assert long.funding_usd_per_period == pytest.approx(-6.1)
    assert short.funding_usd_per_period == pytest.approx(6.1)
    assert report.totals.funding_usd_per_period == pytest.approx(0.0, abs=1e-12)
    # 8-hour funding APR = 0.01 % x 3 x 365 = 10.95 %
    (basis,) = report.basis
    assert basis.funding_apr_pct == pytest.approx(10.95)
    assert short.carry_apr_pct == pytest.approx(10.95)
    assert long.carry_apr_pct == pytest.approx(-10.95)


def test_negative_funding_pays_longs():
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0}, funding={PERP: -0.0002})
    book = Portfolio(positions=(future("l", PERP, "long", 2.0, 60_000.0, 3.0),))
    row = compute(book, market).position("l")
    assert row.funding_usd_per_period == pytest.approx(24.0)  # 120,000 x 0.02 % received
    assert row.carry_apr_pct == pytest.approx(21.9)  # 0.02 % x 3 x 365


def test_funding_apr_uses_the_contract_funding_interval():
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0}, funding={PERP: 0.0001})
    quote = market.contracts[PERP]
    hourly = MarketState(
        clock_ms=market.clock_ms,
        spot=market.spot,
        contracts=frozen_map(
            {PERP: ContractQuote(**{**quote.__dict__, "funding_interval_h": 4.0})}
        ),
    )
    (basis,) = compute(Portfolio(), hourly).basis
    assert basis.funding_apr_pct == pytest.approx(21.9)  # 0.01 % x 6 x 365


def test_annualized_basis_of_dated_futures_and_none_once_expired():
    live = "BTC/USDT:USDT-270326"
    expired = "BTC/USDT:USDT-250926"
    market = make_market(
        {"BTC": 70_000.0},
        {live: 70_700.0, expired: 70_100.0, PERP: 70_010.0},
        expiries={live: CLOCK_MS + 73 * DAY_MS, expired: CLOCK_MS - DAY_MS},
    )
    rows = {b.symbol: b for b in compute(Portfolio(), market).basis}
    # 700 / 70,000 = 1 %; x 365 / 73 days = 5 % a year
    assert rows[live].basis == pytest.approx(700.0)
    assert rows[live].basis_pct == pytest.approx(1.0)
    assert rows[live].annualized_pct == pytest.approx(5.0)
    assert rows[live].funding_rate is None and rows[live].funding_apr_pct is None
    assert rows[expired].annualized_pct is None
    assert rows[PERP].annualized_pct is None and rows[PERP].days_to_expiry is None
    # Perpetual first, then dated futures by expiry.
    assert [b.symbol for b in compute(Portfolio(), market).basis] == [PERP, expired, live]


def basis_trade_market() -> MarketState:
    return make_market(
        {"BTC": 70_000.0},
        {FUTURE: 72_100.0},
        expiries={FUTURE: CLOCK_MS + int(91.25 * DAY_MS)},
    )


def basis_trade(spot_qty: float = 0.1) -> Position:
    return Position(
        "carry", "alpha", FUTURE, "short", 0.1, 72_100.0, 2.0, kind="basis", spot_qty=spot_qty
    )


def test_basis_trade_carry_is_the_annualized_basis_and_its_spot_leg_counts_everywhere_but_hedge():
    market = basis_trade_market()
    report = compute(Portfolio(positions=(basis_trade(),)), market, shock_pct=-10.0)
    row = report.position("carry")
    # basis 3 % over 91.25 days = 12 % a year, earned by the short future
    assert row.carry_apr_pct == pytest.approx(12.0)
    assert row.spot_leg_usd == pytest.approx(7_000.0)  # 0.1 x 70,000
    # equity = spot leg 7,000 + isolated margin 7,210 / 2 = 3,605 + uPnL 0 = 10,605
    assert report.totals.equity == pytest.approx(10_605.0)
    btc = report.asset("BTC")
    assert btc.spot_usd == pytest.approx(7_000.0)
    assert btc.futures_usd == pytest.approx(-7_210.0)
    assert btc.net_usd == pytest.approx(-210.0)
    assert btc.hedge_ratio is None  # no core holding to hedge
    # alpha = (margin 3,605 + spot leg 7,000) / 10,605 = 100 %; core holds nothing
    assert report.allocation["alpha"].pct == pytest.approx(100.0)
    assert report.allocation["core"].pct == pytest.approx(0.0)
    # -10 %: spot leg -700, short future +721 -> +21
    assert report.scenario.pnl_usd == pytest.approx(21.0)


def test_hedge_ratio_uses_core_holdings_against_hedge_book_futures_only():
    market = make_market(
        {"BTC": 60_000.0},
        {PERP: 60_000.0, FUTURE: 61_000.0},
        expiries={FUTURE: CLOCK_MS + 90 * DAY_MS},
    )
    book = Portfolio(
        collateral_usd=40_000.0,
        holdings=(Holding("BTC", 1.0),),
        positions=(
            future("h", PERP, "short", 0.5, 60_000.0, 3.0, book="hedge", margin_mode="cross"),
            future("a", PERP, "short", 0.25, 60_000.0, 3.0, margin_mode="cross"),
            Position(
                "c", "alpha", FUTURE, "short", 0.25, 61_000.0, 2.0, kind="basis", spot_qty=0.25
            ),
        ),
    )
    report = compute(book, market)
    btc = report.asset("BTC")
    # hedge ratio = 30,000 hedge short / 60,000 core = 0.5 (alpha shorts don't count)
    assert btc.hedge_ratio == pytest.approx(0.5)
    assert report.position("a").hedge_ratio == pytest.approx(0.5)
    # spot: 60,000 core + 15,000 spot leg; futures: -30,000 - 15,000 - 15,250
    assert btc.spot_usd == pytest.approx(75_000.0)
    assert btc.futures_usd == pytest.approx(-60_250.0)
    assert btc.net_usd == pytest.approx(14_750.0)
    assert report.totals.gross_exposure_usd == pytest.approx(135_250.0)


# --- totals: equity, exposure, allocation, margin ratio ------------------------------


def allocation_book(eth_mark: float = 2_500.0) -> tuple[Portfolio, MarketState]:
    market = make_market(
        {"BTC": 50_000.0, "ETH": 2_500.0},
        {PERP: 50_000.0, ETH_PERP: eth_mark},
        tiers={PERP: BTC_TIERS},
    )
    book = Portfolio(
        collateral_usd=20_000.0,
        holdings=(Holding("USDT", 30_000.0), Holding("BTC", 1.0)),
        positions=(
            future("h", PERP, "short", 0.2, 50_000.0, 3.0, book="hedge", margin_mode="cross"),
            future("a", ETH_PERP, "long", 4.0, 2_500.0, 2.0, margin_usd=5_000.0),
        ),
    )
    return book, market


def test_equity_is_spot_plus_collateral_plus_isolated_margin_plus_upnl():
    book, market = allocation_book(eth_mark=2_600.0)
    t = compute(book, market, settings=ETH_BETA).totals
    # 30,000 USDT + 50,000 BTC + 20,000 cross wallet + 5,000 isolated + 400 uPnL (4 x 100)
    assert t.equity == pytest.approx(105_400.0)
    assert t.spot_value_usd == pytest.approx(80_000.0)
    assert t.unrealized_pnl_usd == pytest.approx(400.0)
    # stablecoins are cash: not exposure. BTC 50,000 - 10,000; ETH +10,400 (x 1.2 beta)
    assert t.net_exposure_usd == pytest.approx(50_400.0)
    assert t.gross_exposure_usd == pytest.approx(70_400.0)
    assert t.beta_weighted_exposure_usd == pytest.approx(40_000.0 + 12_480.0)
    assert t.net_exposure_pct == pytest.approx(50_400.0 / 105_400.0 * 100)


def test_allocation_against_bands_flags_in_and_out_of_band():
    book, market = allocation_book()
    report = compute(book, market, settings=ETH_BETA)
    a = report.allocation
    # equity 105,000: core 50,000 / 105,000 = 47.62 %; hedge 10,000 / 50,000 = 20 %;
    # alpha 5,000 / 105,000 = 4.76 %
    assert a["core"].pct == pytest.approx(47.61904761904762)
    assert a["hedge"].pct == pytest.approx(20.0)
    assert a["alpha"].pct == pytest.approx(4.761904761904762)
    assert (a["core"].in_band, a["hedge"].in_band, a["alpha"].in_band) == (True, True, False)
    assert a["alpha"].band == (10.0, 30.0)
    # Bands are inclusive and configurable.
    tight = Settings(
        bands=frozen_map({"core": (50.0, 70.0), "hedge": (0.0, 20.0), "alpha": (0, 5)})
    )
    a = compute(book, market, settings=tight).allocation
    assert (a["core"].in_band, a["hedge"].in_band, a["alpha"].in_band) == (False, True, True)


@pytest.mark.parametrize(
    ("collateral", "ratio", "health"),
    [
        (1_000.0, 0.3, "ok"),  # 300 / 1,000
        (600.0, 0.5, "warn"),  # exactly at the warn threshold
        (500.0, 0.6, "warn"),
        (375.0, 0.8, "danger"),  # exactly at the danger threshold
        (350.0, 300.0 / 350.0, "danger"),
    ],
)
def test_margin_ratio_and_health(collateral: float, ratio: float, health: str):
    # 1 BTC cross long at mark 60,000, no tiers: MM = 60,000 x 0.5 % = 300
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0})
    book = Portfolio(
        collateral_usd=collateral,
        positions=(future("x", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross"),),
    )
    t = compute(book, market).totals
    assert t.maintenance_margin_usd == pytest.approx(300.0)
    assert t.margin_ratio == pytest.approx(ratio)
    assert t.health == health


def test_margin_ratio_counts_isolated_margin_and_upnl_and_is_undefined_without_balance():
    market = make_market({"BTC": 59_700.0}, {PERP: 59_700.0})
    iso = future("i", PERP, "long", 1.0, 60_000.0, 10.0, margin_usd=700.0)
    t = compute(Portfolio(collateral_usd=100.0, positions=(iso,)), market).totals
    # MM 59,700 x 0.5 % = 298.5 on its own balance 700 - 300 = 400; the 100 in the cross
    # wallet cannot save an isolated position.
    assert t.margin_ratio == pytest.approx(298.5 / 400.0)
    assert t.cross_margin_ratio == 0.0  # no cross position
    broke = future("i", PERP, "long", 1.0, 60_000.0, 10.0, margin_usd=300.0)
    t = compute(Portfolio(positions=(broke,)), market).totals
    assert t.margin_ratio is None  # balance 300 - 300 = 0
    assert t.health == "danger"


def test_no_futures_means_zero_margin_ratio_and_ok():
    market = make_market({"BTC": 60_000.0})
    report = compute(Portfolio(holdings=(Holding("BTC", 1.0),)), market)
    assert report.totals.margin_ratio == 0.0
    assert report.totals.health == "ok"
    assert report.positions == ()


# --- scenario ------------------------------------------------------------------------


def scenario_book() -> tuple[Portfolio, MarketState]:
    market = make_market(
        {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0},
        {PERP: 60_000.0, ETH_PERP: 3_000.0},
        tiers={PERP: BTC_TIERS},
    )
    book = Portfolio(
        collateral_usd=5_000.0,
        holdings=(
            Holding("BTC", 1.0),
            Holding("ETH", 10.0),
            Holding("USDT", 10_000.0),
            Holding("SOL", 100.0),
        ),
        positions=(
            future(
                "eth-short", ETH_PERP, "short", 1.0, 3_000.0, 5.0, book="hedge", margin_mode="cross"
            ),
            # 10x isolated: LP = (6,000 + 50 - 60,000) / (0.005 - 1) = 54,221.11, 9.63 % below
            future("lev", PERP, "long", 1.0, 60_000.0, 10.0, margin_usd=6_000.0),
        ),
    )
    return book, market


def test_shock_moves_each_asset_by_beta_and_lists_liquidations():
    book, market = scenario_book()
    report = compute(book, market, shock_pct=-10.0, settings=ETH_BETA)
    s = report.scenario
    # spot: BTC -6,000; ETH 30,000 x -12 % = -3,600; USDT 0; SOL (beta assumed 1) -1,500
    # futures: ETH short 3,000 x 12 % = +360; BTC long 60,000 x -10 % = -6,000
    assert s.pnl_usd == pytest.approx(-16_740.0)
    assert s.equity == pytest.approx(report.totals.equity - 16_740.0)
    assert s.liquidated == ("lev",)
    assert report.liquidated_in_scenario == frozenset({"lev"})
    # "lev" is liquidated, so the ratio is over the open cross account only:
    # shocked MM: ETH 2,640 x 0.5 % = 13.2; balance: 5,000 + 360 = 5,360
    assert s.margin_ratio == pytest.approx(13.2 / 5_360.0)
    assert s.health == "ok"
    assert "no beta for SOL in config: assumed 1.0" in report.warnings
    assert compute(book, market, shock_pct=-9.0, settings=ETH_BETA).scenario.liquidated == ()


def test_stablecoins_do_not_move_in_a_shock():
    market = make_market({"USDT": 1.0, "USDC": 0.999})
    book = Portfolio(holdings=(Holding("USDT", 10_000.0), Holding("USDC", 5_000.0)))
    report = compute(book, market, shock_pct=-50.0)
    assert report.scenario.pnl_usd == 0.0
    assert report.totals.equity == pytest.approx(10_000.0 + 4_995.0)
    assert report.assets == ()  # cash is not exposure
    assert report.totals.net_exposure_usd == 0.0


def test_cross_account_breach_liquidates_every_cross_position():
    market = make_market({"BTC": 60_000.0, "ETH": 3_000.0}, {PERP: 60_000.0, ETH_PERP: 3_000.0})
    book = Portfolio(
        collateral_usd=10_000.0,
        positions=(
            future("x1", PERP, "long", 1.0, 60_000.0, 10.0, margin_mode="cross"),
            future("x2", ETH_PERP, "long", 1.0, 3_000.0, 10.0, margin_mode="cross"),
            future("safe", PERP, "long", 0.1, 60_000.0, 1.0),
        ),
    )
    # -15 %: cross balance 10,000 - 9,000 - 450 = 550 >= MM 51,000 x 0.5 % + 2,550 x 0.5 %
    # = 267.75, not breached; -16 %: 10,000 - 9,600 - 480 = -80 < MM, both cross positions go.
    # The 1x isolated long survives both.
    assert compute(book, market, shock_pct=-15.0).scenario.liquidated == ()
    assert compute(book, market, shock_pct=-16.0).scenario.liquidated == ("x1", "x2")


def test_hedged_book_has_zero_pnl_even_when_beta_times_shock_exceeds_minus_100_percent():
    # ETH beta 1.5, shock -80 %: the move is capped at -100 % for spot and futures alike.
    # Before the cap the spot fell 120 % (-60,000) while the short gained 100 % (+50,000).
    market = make_market({"ETH": 2_500.0}, {ETH_PERP: 2_500.0})
    settings = Settings(betas=frozen_map({"ETH": 1.5}))
    hedged = Portfolio(
        collateral_usd=50_000.0,
        holdings=(Holding("ETH", 20.0),),
        positions=(future("h", ETH_PERP, "short", 20.0, 2_500.0, 1.0, book="hedge"),),
    )
    assert compute(hedged, market, -80.0, settings).scenario.pnl_usd == pytest.approx(0.0)
    spot_only = Portfolio(holdings=(Holding("ETH", 20.0),))
    assert compute(spot_only, market, -80.0, settings).scenario.pnl_usd == pytest.approx(-50_000.0)


# --- degraded inputs -----------------------------------------------------------------


def test_missing_prices_give_warnings_not_crashes():
    market = make_market({"BTC": 60_000.0}, {PERP: 60_000.0})
    book = Portfolio(
        holdings=(Holding("XYZ", 5.0), Holding("USDC", 100.0), Holding("BTC", 1.0)),
        positions=(
            future("no-mark", "ETH/USDT:USDT", "long", 1.0, 3_000.0, 2.0),
            future("spot-mark", "BTC/USDT:USDT-270326", "short", 0.1, 61_000.0, 2.0),
            Position(
                "leg",
                "alpha",
                "DOGE/USDT:USDT",
                "short",
                10.0,
                0.2,
                2.0,
                kind="basis",
                spot_qty=10.0,
            ),
        ),
    )
    report = compute(book, market)
    assert "no spot price for XYZ: its holding is valued at 0" in report.warnings
    assert "no mark price for ETH/USDT:USDT: no-mark valued at its entry price" in report.warnings
    assert (
        "no mark price for BTC/USDT:USDT-270326: spot-mark valued at its spot price"
        in report.warnings
    )
    assert "no spot price for DOGE: the spot leg of leg is valued at 0" in report.warnings
    assert not any("USDC" in w for w in report.warnings)  # a stablecoin is priced at 1
    assert report.position("no-mark").mark_price == 3_000.0
    assert report.position("no-mark").stale
    assert report.position("spot-mark").mark_price == 60_000.0
    # 100 USDC + 60,000 BTC + margins 1,500 + 3,050 + 1 (+ uPnL 0 + 100)
    assert report.totals.equity == pytest.approx(100.0 + 60_000.0 + 1_500.0 + 3_050.0 + 1.0 + 100.0)


def test_tier_falling_back_to_the_default_rate_says_so():
    market = make_market({"ETH": 3_000.0}, {ETH_PERP: 3_000.0})
    book = Portfolio(positions=(future("e", ETH_PERP, "long", 10.0, 3_000.0, 5.0),))
    report = compute(book, market, settings=Settings(default_mmr=0.01))
    row = report.position("e")
    assert row.tier_source == "default rate"
    assert row.maintenance_margin_rate == 0.01
    assert row.maintenance_margin_usd == pytest.approx(300.0)  # 30,000 x 1 %
    assert (
        "no leverage tiers for ETH/USDT:USDT: default maintenance rate 1.00% used"
        in report.warnings
    )
    with_tiers = compute(
        book, make_market({"ETH": 3_000.0}, {ETH_PERP: 3_000.0}, {ETH_PERP: SOL_TIERS})
    )
    assert with_tiers.position("e").tier_source == "recorded"  # tiers that came with the recording
    assert not any("leverage tiers" in w for w in with_tiers.warnings)


def test_inverse_contract_is_refused_with_a_clear_message():
    inverse = "BTC/USD:BTC"
    quote = ContractQuote(inverse, "BTC", "swap", linear=False, mark=60_000.0, ts_ms=CLOCK_MS)
    market = MarketState(clock_ms=CLOCK_MS, contracts=frozen_map({inverse: quote}))
    book = Portfolio(positions=(future("inv", inverse, "long", 1.0, 60_000.0, 2.0),))
    with pytest.raises(UnsupportedContractError, match=r"position inv: BTC/USD:BTC is an inverse"):
        compute(book, market)
    # Without any quote the symbol alone (settled in its base asset) is enough to refuse it.
    with pytest.raises(UnsupportedContractError, match="coin-settled"):
        compute(book, MarketState(clock_ms=CLOCK_MS))
    dated = Portfolio(positions=(future("q", "BTC/USD:BTC-270326", "long", 1.0, 6e4, 2.0),))
    with pytest.raises(UnsupportedContractError):
        compute(dated, MarketState(clock_ms=CLOCK_MS))


def test_empty_portfolio_and_empty_market():
    report = compute(Portfolio(), MarketState())
    assert report.totals.equity == 0.0
    assert report.totals.margin_ratio == 0.0
    assert report.allocation["core"].pct is None
    assert not report.allocation["core"].in_band
    assert report.scenario.liquidated == ()
    assert report.basis == ()


def test_the_nearest_liquidation_is_the_smallest_distance_and_holdings_ignore_the_shock():
    book, market = mixed_book()
    book = replace(book, holdings=(Holding("BTC", 1.5), Holding("ETH", 4.0)))
    report = compute(book, market, 0.0, ETH_BETA)
    distances = {r.id: r.distance_to_liquidation_pct for r in report.positions}
    known = {k: v for k, v in distances.items() if v is not None}
    nearest = min(known, key=lambda k: known[k])
    assert report.nearest_liquidation() == (nearest, known[nearest])
    # Holdings and per-asset rows are figures at current prices: a shock leaves them be.
    for shock in (-30.0, 12.5):
        shocked = compute(book, market, shock, ETH_BETA)
        assert shocked.holdings == report.holdings
        assert shocked.assets == report.assets
        assert shocked.nearest_liquidation() == report.nearest_liquidation()


def test_no_position_or_no_liquidation_price_has_no_nearest_liquidation():
    market = make_market({"BTC": 62_000.0}, {PERP: 62_000.0})
    assert compute(Portfolio(collateral_usd=1_000.0), market).nearest_liquidation() is None
    # A 1x isolated short can still be liquidated; a 1x long on its full notional cannot.
    long_1x = future("safe", PERP, "long", 1.0, 62_000.0, 1.0, margin_usd=62_000.0)
    report = compute(Portfolio(positions=(long_1x,)), market)
    assert report.positions[0].liquidation_price is None
    assert report.nearest_liquidation() is None
