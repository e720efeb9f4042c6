"""Carry board in worked numbers: gross and net of fees, break-even days, best carry,
funding eating a perpetual carry, and single-leg basis trades."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from core.engine import compute
from core.model import Holding, Portfolio, Position, Settings
from core.risk.carry import carry_board, single_leg_trades
from core.risk.settings import Fees, RiskSettings
from tests.conftest import CLOCK_MS, make_market

PERP = "BTC/USDT:USDT"
DATED = "BTC/USDT:USDT-261225"
DAY_MS = 86_400_000
RISK = RiskSettings(default_fees=Fees(taker_pct=0.05, maker_pct=0.02))


SPOT_ONLY = Portfolio(holdings=(Holding("BTC", 1.0),))


def board(market, portfolio=SPOT_ONLY, risk=RISK):
    report = compute(portfolio, market, 0.0, Settings())
    return carry_board(report, portfolio, market, risk)


def test_dated_and_perpetual_carry_net_of_fees_with_break_even_and_the_best_marked():
    # DESIGN example 3: spot 70,000, future 72,100 (3.0 %), 91.25 days to expiry.
    market = make_market(
        {"BTC": 70_000.0},
        {PERP: 70_007.0, DATED: 72_100.0},
        funding={PERP: 0.0001},
        expiries={DATED: CLOCK_MS + int(91.25 * DAY_MS)},
    )
    (row,) = board(market)
    assert row.asset == "BTC" and row.spot == 70_000.0
    perp, dated = row.legs
    # Round trip: 4 fills x 0.05 % taker = 0.2 % (maker: 4 x 0.02 = 0.08 %).
    assert dated.fees_pct == pytest.approx(0.2) and dated.fees_maker_pct == pytest.approx(0.08)
    # Gross 3 % x 365 / 91.25 = 12 %; net (3 - 0.2) x 4 = 11.2 %; maker (3 - 0.08) x 4 = 11.68 %.
    assert dated.gross_apr_pct == pytest.approx(12.0)
    assert dated.net_apr_pct == pytest.approx(11.2)
    assert dated.net_apr_maker_pct == pytest.approx(11.68)
    # Break-even: 0.2 % / (3 % / 91.25 days) = 6.083 days.
    assert dated.break_even_days == pytest.approx(0.2 / (3.0 / 91.25))
    # Perpetual: 0.01 % per 8 h = 10.95 % APR; fees over a 30-day horizon:
    # 0.2 x 365 / 30 = 2.4333 %, net 8.5167 %; break-even 0.2 / (10.95 / 365) = 6.667 days.
    assert perp.gross_apr_pct == pytest.approx(10.95)
    assert perp.net_apr_pct == pytest.approx(10.95 - 0.2 * 365 / 30)
    assert perp.break_even_days == pytest.approx(0.2 / (10.95 / 365))
    assert not perp.funding_eats_basis
    assert row.best_symbol == DATED and dated.best and not perp.best


def test_funding_interval_is_read_from_the_contract():
    market = make_market({"BTC": 70_000.0}, {PERP: 70_000.0}, funding={PERP: 0.0001})
    quote = market.contracts[PERP]
    hourly = type(quote)(**{**quote.__dict__, "funding_interval_h": 4.0})
    market = type(market)(**{**market.__dict__, "contracts": MappingProxyType({PERP: hourly})})
    (row,) = board(market)
    # Every 4 h: 6 periods a day, 0.01 % x 6 x 365 = 21.9 % APR.
    assert row.legs[0].gross_apr_pct == pytest.approx(21.9)


def test_negative_funding_that_outweighs_the_premium_is_flagged_and_never_best():
    # Premium 0.1 %, funding -0.03 % per 8 h = -32.85 % APR: over 30 days the short pays
    # 32.85 x 30 / 365 = 2.70 %, more than the 0.1 % it opened for.
    market = make_market({"BTC": 70_000.0}, {PERP: 70_070.0}, funding={PERP: -0.0003})
    (row,) = board(market)
    (perp,) = row.legs
    assert perp.funding_eats_basis
    assert perp.break_even_days is None  # a carry that pays never breaks even
    assert row.best_symbol is None


def basis_trade(spot_qty: float, symbol: str = DATED) -> Portfolio:
    return Portfolio(
        collateral_usd=1_000.0,
        positions=(
            Position(
                "carry-btc",
                "alpha",
                symbol,
                "short",
                0.1,
                72_000.0,
                2.0,
                "isolated",
                kind="basis",
                spot_qty=spot_qty,
            ),
        ),
    )


def test_single_leg_basis_trades_are_flagged_with_their_reason():
    expiry = CLOCK_MS + 30 * DAY_MS
    quoted = make_market({"BTC": 70_000.0}, {DATED: 72_000.0}, expiries={DATED: expiry})
    assert single_leg_trades(basis_trade(0.1), quoted) == ()
    (leg,) = single_leg_trades(basis_trade(0.0), quoted)
    assert (leg.position_id, leg.reason) == ("carry-btc", "no spot leg (spot_qty 0)")
    unquoted = make_market({"BTC": 70_000.0}, {})
    assert "not quoted" in single_leg_trades(basis_trade(0.1), unquoted)[0].reason
    expired = make_market({"BTC": 70_000.0}, {DATED: 72_000.0}, expiries={DATED: CLOCK_MS - DAY_MS})
    assert "expired" in single_leg_trades(basis_trade(0.1), expired)[0].reason
    no_spot = make_market({}, {DATED: 72_000.0}, expiries={DATED: expiry})
    assert "no spot price for BTC" in single_leg_trades(basis_trade(0.1), no_spot)[0].reason
    # The board carries it on the asset's row.
    (row,) = board(quoted, basis_trade(0.0))
    assert [s.position_id for s in row.single_legs] == ["carry-btc"]


def test_fees_per_venue_apply_to_that_venues_contracts():
    risk = RiskSettings(fees=MappingProxyType({"": Fees(taker_pct=0.1)}))
    market = make_market(
        {"BTC": 70_000.0}, {DATED: 72_100.0}, expiries={DATED: CLOCK_MS + int(91.25 * DAY_MS)}
    )
    (row,) = board(market, risk=risk)
    assert row.legs[0].fees_pct == pytest.approx(0.4)
    assert row.legs[0].net_apr_pct == pytest.approx((3.0 - 0.4) * 4)
