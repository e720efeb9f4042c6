"""Stress grid: every step is the engine's scenario at that shock; the first
liquidating shock each way is marked; `report --stress` carries the same figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import load_config, load_portfolio
from core.engine import compute
from core.feeds.replay_file import load_replay_end
from core.model import Holding, Portfolio, Position, Settings
from core.risk import RiskInputError
from core.risk.stress import parse_range, stress_grid
from tests.conftest import BTC_TIERS, make_market
from tui.cli import main

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "data" / "demo.jsonl"
CONFIG = PROJECT / "config.toml"


def demo():
    config = load_config(CONFIG)
    return (
        load_portfolio(config.portfolio_path).portfolio,
        load_replay_end(DEMO),
        config.settings,
    )


def test_default_range_runs_from_minus_50_to_50_in_steps_of_5_with_both_ends():
    shocks = parse_range("-50:50:5")
    assert len(shocks) == 21
    assert shocks[0] == -50.0 and shocks[-1] == 50.0 and shocks[10] == 0.0
    assert shocks[3] == -35.0  # -50 + 3 x 5, multiplied, not summed


def test_range_includes_to_only_when_a_step_lands_on_it():
    assert parse_range("0:10:3") == (0.0, 3.0, 6.0, 9.0)
    assert parse_range("-0.3:0.3:0.1") == (-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3)


@pytest.mark.parametrize(
    "text, message",
    [
        ("1:2", "FROM:TO:STEP"),
        ("a:b:c", "not FROM:TO:STEP numbers"),
        ("-10:10:0", "STEP must be > 0"),
        ("10:-10:5", "below FROM"),
        ("-100:0:5", "above -100"),
        ("0:100:0.001", "at most"),
        ("0:nan:1", "finite"),
    ],
)
def test_bad_ranges_are_refused_with_one_line(text, message):
    with pytest.raises(RiskInputError, match=message):
        parse_range(text)


def test_every_step_of_the_demo_grid_equals_the_scenario_at_that_shock():
    portfolio, market, settings = demo()
    grid = stress_grid(portfolio, market, parse_range("-50:50:5"), settings)
    assert [s.shock_pct for s in grid.steps] == list(parse_range("-50:50:5"))
    for step in grid.steps:
        scenario = compute(portfolio, market, step.shock_pct, settings).scenario
        assert step.pnl_usd == scenario.pnl_usd
        assert step.equity == scenario.equity
        assert step.margin_ratio == scenario.margin_ratio
        assert step.health == scenario.health
        assert step.liquidated == tuple(scenario.liquidated)


def levered_btc_long() -> tuple[Portfolio, object]:
    """DESIGN example 2: $10,000 isolated on a 3x BTC long of $30,000 at 60,000."""
    portfolio = Portfolio(
        collateral_usd=0.0,
        holdings=(Holding("USDT", 1000.0),),
        positions=(
            Position(
                "a-btc", "alpha", "BTC/USDT:USDT", "long", 0.5, 60_000.0, 3.0, "isolated", 10_000.0
            ),
        ),
    )
    market = make_market(
        {"BTC": 60_000.0}, {"BTC/USDT:USDT": 60_000.0}, {"BTC/USDT:USDT": BTC_TIERS}
    )
    return portfolio, market


def test_the_first_liquidating_fall_is_marked_and_none_up():
    portfolio, market = levered_btc_long()
    grid = stress_grid(portfolio, market, parse_range("-50:50:5"), Settings())
    # Isolated long, tier 0.4 %: LP = (10,000 - 0.5 x 60,000) / (0.5 x 0.004 - 0.5)
    # = -20,000 / -0.498 = 40,160.64, a fall of 33.07 %: -35 % liquidates, -30 % does not.
    by_shock = {s.shock_pct: s for s in grid.steps}
    assert by_shock[-30.0].liquidated == ()
    assert by_shock[-35.0].liquidated == ("a-btc",)
    assert grid.first_liquidation_down_pct == -35.0
    assert grid.first_liquidation_up_pct is None
    assert [s.shock_pct for s in grid.steps if s.first_liquidation] == [-35.0]
    # +20 % on $30,000 long: +$6,000 (DESIGN example 2).
    assert by_shock[20.0].pnl_usd == pytest.approx(6_000.0)


def test_report_stress_json_carries_the_scenario_at_each_shock(capsys):
    assert main(["report", "--replay", str(DEMO), "--json", "--stress", "-20:20:10"]) == 0
    doc = json.loads(capsys.readouterr().out)
    portfolio, market, settings = demo()
    assert [s["shock_pct"] for s in doc["stress"]] == [-20.0, -10.0, 0.0, 10.0, 20.0]
    for step in doc["stress"]:
        scenario = compute(portfolio, market, step["shock_pct"], settings).scenario
        assert set(step) >= {
            "shock_pct",
            "pnl_usd",
            "equity",
            "margin_ratio",
            "health",
            "liquidated",
        }
        assert step["pnl_usd"] == scenario.pnl_usd
        assert step["equity"] == scenario.equity
        assert step["margin_ratio"] == scenario.margin_ratio
        assert step["health"] == scenario.health
        assert step["liquidated"] == list(scenario.liquidated)


def test_bare_stress_is_the_default_range_even_before_another_flag(capsys):
    assert main(["report", "--replay", str(DEMO), "--stress", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["shock_pct"] for s in doc["stress"]] == list(parse_range("-50:50:5"))


def test_a_bad_stress_range_exits_2_with_one_line(capsys):
    assert main(["report", "--replay", str(DEMO), "--stress", "5:1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "below FROM" in err


def test_the_table_report_prints_the_grid_with_the_first_liquidation(capsys):
    assert main(["report", "--replay", str(DEMO), "--stress", "-50:-40:5"]) == 0
    out = capsys.readouterr().out
    assert "Stress grid" in out
    # The demo's 2x ETH long (isolated $10,000 on $20,000) goes between -40 % and -45 %.
    assert "a-eth ◀ first" in out


def test_the_grid_carries_the_engines_exact_shock_to_liquidation():
    portfolio, market = levered_btc_long()
    grid = stress_grid(portfolio, market, parse_range("-50:50:5"), Settings())
    # LP 40,160.64 from 60,000: a fall of 33.07 % (to 0.01 point).
    assert grid.liquidation_shock_down_pct == pytest.approx(-33.07, abs=0.01)
    assert grid.liquidation_shock_up_pct is None
    # The grid's first liquidating step lies beyond the exact shock, within one step.
    assert grid.first_liquidation_down_pct <= grid.liquidation_shock_down_pct
    assert grid.liquidation_shock_down_pct - grid.first_liquidation_down_pct < 5
