"""Hedge suggestion: worked cases; applied through core.whatif and recomputed, the
suggestion reaches its target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.edits import EditError
from core.engine import compute
from core.model import Holding, Portfolio, Position, Settings
from core.risk import RiskInputError
from core.risk.suggest import (
    apply_suggestion,
    net_beta,
    parse_target,
    suggest_hedge,
    suggest_net_beta,
)
from tests.conftest import make_market
from tui.cli import main

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo.jsonl"
PERP = "BTC/USDT:USDT"
ETH_PERP = "ETH/USDT:USDT"


def book(collateral: float = 20_000.0) -> tuple[Portfolio, object]:
    """2 BTC spot at 50,000 ($100,000 core), short 1 BTC perpetual at 5x cross: ratio 0.5.
    10 ETH at 2,000 ($20,000), no ETH hedge."""
    portfolio = Portfolio(
        collateral_usd=collateral,
        holdings=(Holding("BTC", 2.0), Holding("ETH", 10.0)),
        positions=(Position("h-btc", "hedge", PERP, "short", 1.0, 50_000.0, 5.0, "cross"),),
    )
    market = make_market(
        {"BTC": 50_000.0, "ETH": 2_000.0},
        {PERP: 50_000.0, ETH_PERP: 2_000.0},
        funding={PERP: 0.0001, ETH_PERP: -0.0002},
    )
    return portfolio, market


def hedge_ratio(portfolio, market, asset):
    return compute(portfolio, market, 0.0, Settings()).asset(asset).hedge_ratio


def test_raising_an_existing_hedge_to_80_pct_worked():
    portfolio, market = book()
    assert hedge_ratio(portfolio, market, "BTC") == pytest.approx(0.5)
    s = suggest_hedge(portfolio, market, "BTC", 0.8)
    # Target delta of the hedges: -0.8 x 100,000 = -80,000; now -50,000, so -30,000 more:
    # the short grows by 30,000 / 50,000 = 0.6 BTC, to 1.6.
    assert (s.symbol, s.side, s.position_id) == (PERP, "short", "h-btc")
    assert s.size_change == pytest.approx(0.6)
    assert s.new_size == pytest.approx(1.6)
    # Margin of the change at 5x: 0.6 x 50,000 / 5 = 6,000, from the cross wallet.
    assert s.margin_usd == pytest.approx(6_000.0)
    assert "cross wallet" in s.wallet
    # A short receives a positive rate: 30,000 x 0.0001 x 3 periods a day = +9.00.
    assert s.funding_usd_per_day == pytest.approx(9.0)
    assert s.hedge_ratio_after == pytest.approx(0.8, abs=1e-12)
    applied = apply_suggestion(portfolio, market, s).portfolio
    assert applied.position("h-btc").size == pytest.approx(1.6)
    assert hedge_ratio(applied, market, "BTC") == pytest.approx(0.8, abs=1e-12)


def test_lowering_a_hedge_frees_margin_and_gives_up_funding():
    portfolio, market = book()
    s = suggest_hedge(portfolio, market, "BTC", 0.25)
    # -0.25 x 100,000 = -25,000 target; +25,000 of delta: 0.5 BTC less short.
    assert s.size_change == pytest.approx(-0.5)
    assert s.margin_usd == pytest.approx(-5_000.0)  # 0.5 x 50,000 / 5 freed
    assert s.funding_usd_per_day == pytest.approx(-7.5)  # 25,000 x 0.0001 x 3 no longer received
    applied = apply_suggestion(portfolio, market, s).portfolio
    assert hedge_ratio(applied, market, "BTC") == pytest.approx(0.25, abs=1e-12)


def test_a_zero_target_closes_the_hedge():
    portfolio, market = book()
    s = suggest_hedge(portfolio, market, "BTC", 0.0)
    assert s.new_size == 0.0 and s.apply == "--delete h-btc"
    applied = apply_suggestion(portfolio, market, s).portfolio
    assert [p.id for p in applied.positions] == []
    assert hedge_ratio(applied, market, "BTC") == 0.0


def test_an_asset_without_a_hedge_gets_its_perpetual_opened_at_1x_isolated():
    portfolio, market = book()
    s = suggest_hedge(portfolio, market, "ETH", 0.5)
    # 0.5 x 20,000 = 10,000 short: 5 ETH at 2,000; 1x: margin 10,000 moved to isolated.
    assert (s.symbol, s.side, s.position_id) == (ETH_PERP, "short", None)
    assert s.size_change == pytest.approx(5.0)
    assert (s.leverage, s.margin_mode) == (1.0, "isolated")
    assert s.margin_usd == pytest.approx(10_000.0)
    # The rate is negative: the short pays 10,000 x 0.0002 x 3 = 6.00 a day.
    assert s.funding_usd_per_day == pytest.approx(-6.0)
    outcome = apply_suggestion(portfolio, market, s)
    assert outcome.new_id == "h-eth"
    assert hedge_ratio(outcome.portfolio, market, "ETH") == pytest.approx(0.5, abs=1e-12)
    # Equity does not move: the 10,000 go from the cross wallet into the isolated one.
    after = compute(outcome.portfolio, market, 0.0, Settings())
    before = compute(portfolio, market, 0.0, Settings())
    assert after.totals.equity == pytest.approx(before.totals.equity)
    assert outcome.portfolio.collateral_usd == pytest.approx(20_000.0 - 10_000.0)


def test_a_suggestion_that_the_wallet_cannot_fund_says_why_it_would_be_refused():
    portfolio, market = book(collateral=1_000.0)
    s = suggest_hedge(portfolio, market, "ETH", 0.5)
    assert s.note == (
        "applying it would be refused: the cross wallet holds 1,000.00; "
        "add collateral (c) or lower the size"
    )
    # The figures are still those the edit would give.
    assert s.hedge_ratio_after == pytest.approx(0.5)
    with pytest.raises(EditError, match="cross wallet holds 1,000.00"):
        apply_suggestion(portfolio, market, s)


def test_a_target_net_beta_resizes_the_btc_hedge():
    portfolio, market = book()
    before = compute(portfolio, market, 0.0, Settings())
    # Net: BTC 100,000 - 50,000 = 50,000 (beta 1) + ETH 20,000 (beta 1, assumed) = 70,000
    # over equity 100,000 + 20,000 + 20,000 (wallet) = 140,000: 0.5.
    assert net_beta(before) == pytest.approx(0.5)
    s = suggest_net_beta(portfolio, market, 0.2)
    # 0.2 x 140,000 - 70,000 = -42,000 of BTC delta: 0.84 BTC more short.
    assert s.size_change == pytest.approx(0.84)
    applied = apply_suggestion(portfolio, market, s).portfolio
    assert net_beta(compute(applied, market, 0.0, Settings())) == pytest.approx(0.2, abs=1e-12)
    assert s.net_beta_after == pytest.approx(0.2, abs=1e-12)


def test_a_target_past_zero_on_a_short_is_refused():
    portfolio, market = book()
    portfolio = Portfolio(
        collateral_usd=portfolio.collateral_usd,
        holdings=portfolio.holdings,
        positions=(Position("h-btc", "hedge", PERP, "long", 1.0, 50_000.0, 5.0, "cross"),),
    )
    # A long "hedge" has ratio -0.5; reaching +0.5 takes it past zero.
    with pytest.raises(RiskInputError, match="past zero"):
        suggest_hedge(portfolio, market, "BTC", 0.5)


@pytest.mark.parametrize("text", ["BTC", "=0.5", "BTC=x", "BTC=-0.1", "BTC=80", "BTC=nan"])
def test_bad_targets_are_refused(text):
    with pytest.raises(RiskInputError):
        parse_target(text)


def test_no_core_holding_means_no_ratio_to_reach():
    portfolio, market = book()
    with pytest.raises(RiskInputError, match="no core holding"):
        suggest_hedge(portfolio, market, "SOL", 0.5)


def test_report_suggestion_applied_with_edit_reaches_the_ratio(capsys):
    assert main(["report", "--replay", str(DEMO), "--json", "--suggest-hedge", "btc=0.8"]) == 0
    doc = json.loads(capsys.readouterr().out)
    s = doc["suggestion"]
    assert set(s) >= {
        "asset",
        "symbol",
        "side",
        "size_change",
        "hedge_ratio_after",
        "margin_usd",
        "funding_usd_per_day",
    }
    assert s["asset"] == "BTC" and s["symbol"] == PERP and s["side"] == "short"
    assert s["hedge_ratio_after"] == pytest.approx(0.8, abs=1e-9)
    assert s["apply"].startswith("h-btc size ")


def test_report_refuses_a_bad_target_with_exit_2(capsys):
    assert main(["report", "--replay", str(DEMO), "--suggest-hedge", "BTC"]) == 2
    assert "ASSET=RATIO" in capsys.readouterr().err


def test_report_suggests_and_stresses_the_edited_draft(capsys):
    args = ["report", "--replay", str(DEMO), "--json", "--edit", "h-btc size 0.25"]
    assert main([*args, "--suggest-hedge", "BTC=0.8", "--stress", "0:10:10"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [w["edit"] for w in doc["whatif"]] == ["h-btc size 0.25"]
    # From the draft's 0.25 BTC short, not the saved 0.5: 0.8 x 0.5 BTC of core needs
    # about 0.4 short, so about +0.15.
    assert doc["suggestion"]["size_change"] == pytest.approx(0.15, abs=0.001)
    assert doc["suggestion"]["hedge_ratio_after"] == pytest.approx(0.8, abs=1e-9)
    assert doc["stress"][0]["pnl_usd"] == doc["scenario"]["pnl_usd"] == 0.0
