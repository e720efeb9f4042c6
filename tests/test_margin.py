"""Scalar margin maths (core.margin) against hand-computed, exchange-documented numbers.

Tier table: Binance's USDⓈ-M BTCUSDT brackets as printed in its FAQ "How to Calculate
Liquidation Price of USDⓈ-M Futures Contracts"
(https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93):
level 1 0-50,000 at 0.4 %, level 2 50,000-250,000 at 0.5 %, level 3 250,000-1,000,000
at 1 %, level 4 1,000,000-10,000,000 at 2.5 %. The FAQ's own checks: a 264,000 USDT
position has a 1 % maintenance rate, a 500,000 USDT one a 1,300 USDT maintenance amount
(= 250,000 x (1 % - 0.5 %) + 50).
"""

from __future__ import annotations

import math

import pytest

from core.margin import (
    annualized_basis_pct,
    distance_to_liquidation,
    funding_apr_pct,
    liquidation_price,
    maintenance_margin,
    tier_for,
    with_maintenance_amounts,
)
from core.model import Tier

BINANCE_FAQ_TIERS = with_maintenance_amounts(
    [
        # Given out of order on purpose: the derivation sorts by floor.
        Tier(250_000.0, 1_000_000.0, 0.01, 50),
        Tier(0.0, 50_000.0, 0.004, 125),
        Tier(1_000_000.0, 10_000_000.0, 0.025, 20),
        Tier(50_000.0, 250_000.0, 0.005, 100),
    ]
)
LONG, SHORT = 1, -1


def test_maintenance_amounts_follow_binance_cumulative_rule():
    # cum1 = 0
    # cum2 = 0 + 50,000 x (0.5 % - 0.4 %) = 50
    # cum3 = 50 + 250,000 x (1 % - 0.5 %) = 1,300   (the FAQ's example)
    # cum4 = 1,300 + 1,000,000 x (2.5 % - 1 %) = 16,300
    assert [t.min_notional for t in BINANCE_FAQ_TIERS] == [0, 50_000, 250_000, 1_000_000]
    assert [t.cum for t in BINANCE_FAQ_TIERS] == pytest.approx([0.0, 50.0, 1_300.0, 16_300.0])
    assert [t.max_leverage for t in BINANCE_FAQ_TIERS] == [125, 100, 50, 20]


def test_tier_lookup_matches_the_faq_examples_and_floors_are_inclusive():
    assert tier_for(BINANCE_FAQ_TIERS, 264_000.0).mmr == 0.01  # FAQ: 264,000 -> 1 %
    assert tier_for(BINANCE_FAQ_TIERS, 500_000.0).cum == pytest.approx(1_300.0)  # FAQ
    assert tier_for(BINANCE_FAQ_TIERS, 0.0).mmr == 0.004
    assert tier_for(BINANCE_FAQ_TIERS, 49_999.99).mmr == 0.004
    assert tier_for(BINANCE_FAQ_TIERS, 50_000.0).mmr == 0.005
    # Above the last cap the last tier still applies.
    assert tier_for(BINANCE_FAQ_TIERS, 50_000_000.0).mmr == 0.025


def test_maintenance_margin_is_continuous_across_a_tier_floor():
    # Just below 250,000: 250,000 x 0.5 % - 50 = 1,200; at 250,000: 250,000 x 1 % - 1,300 = 1,200.
    below = maintenance_margin(249_999.0, tier_for(BINANCE_FAQ_TIERS, 249_999.0))
    at = maintenance_margin(250_000.0, tier_for(BINANCE_FAQ_TIERS, 250_000.0))
    assert below == pytest.approx(1_199.995)
    assert at == pytest.approx(1_200.0)
    # 500,000 in tier 3: 500,000 x 1 % - 1,300 = 3,700.
    assert maintenance_margin(500_000.0, tier_for(BINANCE_FAQ_TIERS, 500_000.0)) == 3_700.0


def test_isolated_long_in_tier_one():
    # 0.5 BTC long at 60,000 (30,000 notional, tier 1: mmr 0.4 %, cum 0), 10,000 margin:
    # LP = (10,000 + 0 - 0.5 x 60,000) / (0.5 x 0.004 - 0.5) = -20,000 / -0.498 = 40,160.6426
    tier = tier_for(BINANCE_FAQ_TIERS, 30_000.0)
    lp = liquidation_price(LONG, 0.5, 60_000.0, 10_000.0, tier)
    assert lp == pytest.approx(40_160.64257028112, rel=1e-12)
    # At that price margin + uPnL equals the maintenance margin exactly.
    upnl = (lp - 60_000.0) * 0.5
    assert 10_000.0 + upnl == pytest.approx(maintenance_margin(0.5 * lp, tier))


def test_isolated_long_in_tier_three():
    # 5 BTC long at 60,000 = 300,000 notional -> tier 3 (mmr 1 %, cum 1,300); 30,000 margin:
    # LP = (30,000 + 1,300 - 5 x 60,000) / (5 x 0.01 - 5) = -268,700 / -4.95 = 54,282.8283
    tier = tier_for(BINANCE_FAQ_TIERS, 300_000.0)
    assert (tier.mmr, tier.cum) == (0.01, pytest.approx(1_300.0))
    lp = liquidation_price(LONG, 5.0, 60_000.0, 30_000.0, tier)
    assert lp == pytest.approx(54_282.82828282828, rel=1e-12)
    # Check: at 54,282.83 the notional (271,414) is still tier 3; margin + uPnL =
    # 30,000 - 28,585.86 = 1,414.14 = 271,414.14 x 1 % - 1,300.
    assert 30_000.0 + (lp - 60_000.0) * 5.0 == pytest.approx(5.0 * lp * 0.01 - 1_300.0)


def test_isolated_short_in_tier_one():
    # 0.5 BTC short at 60,000, 10,000 margin, tier 1:
    # LP = (10,000 + 0 + 0.5 x 60,000) / (0.5 x 0.004 + 0.5) = 40,000 / 0.502 = 79,681.2749
    tier = tier_for(BINANCE_FAQ_TIERS, 30_000.0)
    lp = liquidation_price(SHORT, 0.5, 60_000.0, 10_000.0, tier)
    assert lp == pytest.approx(79_681.27490039841, rel=1e-12)
    assert lp > 60_000.0


def test_cross_positions_share_the_wallet_with_the_others_maintenance_and_upnl():
    # Cross wallet 20,000 holds A: long 1 BTC at 60,000, mark 62,000 (62,000 notional,
    # tier 2: mmr 0.5 %, cum 50) and B: short 10 ETH at 3,000, mark 3,100 (one tier, 0.5 %).
    eth_tier = Tier(0.0, math.inf, 0.005, None, 0.0)
    a_tier = tier_for(BINANCE_FAQ_TIERS, 62_000.0)
    a_mm = maintenance_margin(62_000.0, a_tier)  # 62,000 x 0.5 % - 50 = 260
    b_mm = maintenance_margin(31_000.0, eth_tier)  # 31,000 x 0.5 % = 155
    a_upnl = (62_000.0 - 60_000.0) * 1.0  # +2,000
    b_upnl = (3_100.0 - 3_000.0) * 10.0 * -1  # -1,000
    assert (a_mm, b_mm) == (pytest.approx(260.0), pytest.approx(155.0))
    # LP_A = (20,000 - 155 + (-1,000) + 50 - 60,000) / (0.005 - 1) = -41,105 / -0.995
    lp_a = liquidation_price(LONG, 1.0, 60_000.0, 20_000.0, a_tier, b_mm, b_upnl)
    assert lp_a == pytest.approx(41_311.55778894472, rel=1e-12)
    # LP_B = (20,000 - 260 + 2,000 + 0 + 30,000) / (10 x 0.005 + 10) = 51,740 / 10.05
    lp_b = liquidation_price(SHORT, 10.0, 3_000.0, 20_000.0, eth_tier, a_mm, a_upnl)
    assert lp_b == pytest.approx(5_148.258706467662, rel=1e-12)
    # The same long held isolated on the whole wallet would be liquidated lower:
    # (20,000 + 50 - 60,000) / -0.995 = 40,150.75; B's loss and margin pull A's LP up.
    assert liquidation_price(LONG, 1.0, 60_000.0, 20_000.0, a_tier) == pytest.approx(
        40_150.75376884422
    )


def test_no_liquidation_price_when_the_collateral_covers_a_fall_to_zero():
    # 1x long: 1 BTC at 60,000 on 60,000 margin, tier 2:
    # numerator 60,000 + 50 - 60,000 = +50 over a negative denominator -> LP < 0 -> None ("—").
    tier = tier_for(BINANCE_FAQ_TIERS, 60_000.0)
    assert liquidation_price(LONG, 1.0, 60_000.0, 60_000.0, tier) is None
    # A cross long whose wallet plus the others' profit covers the whole notional: None too.
    assert liquidation_price(LONG, 1.0, 60_000.0, 50_000.0, tier, 0.0, 15_000.0) is None
    # Just under full collateral there is a (tiny) liquidation price:
    # (59,000 + 50 - 60,000) / -0.995 = 954.77
    assert liquidation_price(LONG, 1.0, 60_000.0, 59_000.0, tier) == pytest.approx(
        954.7738693467337
    )


def test_a_short_always_has_a_liquidation_price_however_large_its_collateral():
    # (1,000,000 + 30,000) / 0.502 = 2,051,792.83: far, but a rise can always get there.
    tier = tier_for(BINANCE_FAQ_TIERS, 30_000.0)
    assert liquidation_price(SHORT, 0.5, 60_000.0, 1_000_000.0, tier) == pytest.approx(
        2_051_792.828685259
    )


def test_zero_size_or_degenerate_rate_gives_no_price():
    assert liquidation_price(LONG, 0.0, 60_000.0, 1_000.0, BINANCE_FAQ_TIERS[0]) is None
    # mmr of 100 % makes a long's denominator zero: no finite price.
    assert liquidation_price(LONG, 1.0, 60_000.0, 1_000.0, Tier(0.0, math.inf, 1.0)) is None


def test_distance_to_liquidation_is_a_fraction_of_mark():
    # |60,000 - 40,160.6426| / 60,000 = 0.330656
    assert distance_to_liquidation(60_000.0, 40_160.64257028112) == pytest.approx(0.33065595716198)
    # A short: |60,000 - 79,681.27| / 60,000 = 0.328021
    assert distance_to_liquidation(60_000.0, 79_681.27490039841) == pytest.approx(0.32802124833997)
    assert distance_to_liquidation(60_000.0, None) is None
    assert distance_to_liquidation(0.0, 1.0) is None


def test_one_basis_point_per_eight_hours_is_ten_point_nine_five_percent_a_year():
    assert funding_apr_pct(0.0001, 8.0) == pytest.approx(10.95)
    assert funding_apr_pct(0.0001, 4.0) == pytest.approx(21.9)


def test_three_percent_basis_over_a_quarter_is_twelve_percent_a_year():
    assert annualized_basis_pct(3.0, 91.25) == pytest.approx(12.0)
