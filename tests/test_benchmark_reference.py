"""The benchmark's tight numpy kernel gives the engine's figures (else its ratios mean nothing)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from benchmarks.generate import make_book, moved_market
from benchmarks.tight_kernel import (
    _tier_index,
    evaluate,
    layout_of,
    market_arrays,
    set_position,
)
from core.config import load_config, load_portfolio
from core.engine import compute
from core.feeds.replay_file import load_replay_end
from core.model import Portfolio
from core.report import Report

PROJECT = Path(__file__).resolve().parent.parent
POSITION_COLUMNS = (
    "notional_usd",
    "delta_usd",
    "unrealized_pnl_usd",
    "initial_margin_usd",
    "maintenance_margin_usd",
    "liquidation_price",
    "distance_to_liquidation_pct",
    "funding_usd_per_period",
    "carry_apr_pct",
    "hedge_ratio",
)


def _close(engine: float | None, kernel: float | None) -> bool:
    if engine is None or kernel is None:
        return engine is None and kernel is None
    return math.isclose(engine, kernel, rel_tol=1e-9, abs_tol=1e-9)


def assert_kernel_agrees(report: Report, figures: dict) -> None:
    frame = report.position_frame
    for column in POSITION_COLUMNS:
        engine = frame[column].fill_null(float("nan")).to_numpy().astype(np.float64)
        np.testing.assert_allclose(
            figures[column], engine, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=column
        )
    for column, key in (
        ("margin_ratio", "position_margin_ratio"),
        ("liquidation_shock_pct", "liquidation_shock_pct"),
    ):
        engine = frame[column].fill_null(float("nan")).to_numpy().astype(np.float64)
        np.testing.assert_allclose(
            figures[key], engine, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=column
        )
    assert figures["liquidated"].tolist() == frame["liquidated"].to_list()
    t, s = report.totals, report.scenario
    for engine, kernel in (
        (t.equity, figures["equity"]),
        (t.net_exposure_usd, figures["net_exposure_usd"]),
        (t.beta_weighted_exposure_usd, figures["beta_weighted_exposure_usd"]),
        (t.gross_exposure_usd, figures["gross_exposure_usd"]),
        (t.margin_ratio, figures["margin_ratio"]),
        (t.unrealized_pnl_usd, figures["unrealized_pnl_total"]),
        (t.maintenance_margin_usd, figures["maintenance_total"]),
        (s.pnl_usd, figures["scenario_pnl_usd"]),
        (s.margin_ratio, figures["scenario_margin_ratio"]),
    ):
        assert _close(engine, kernel), (engine, kernel)
    assert [a.asset for a in report.assets] == figures["assets"]
    for key, attr in (
        ("asset_spot_usd", "spot_usd"),
        ("asset_futures_usd", "futures_usd"),
        ("asset_net_usd", "net_usd"),
        ("asset_hedge_ratio", "hedge_ratio"),
    ):
        engine = [math.nan if getattr(a, attr) is None else getattr(a, attr) for a in report.assets]
        np.testing.assert_allclose(figures[key], engine, rtol=1e-9, equal_nan=True, err_msg=key)


def assert_basis_agrees(report: Report, symbols: list[str], ticker: dict) -> None:
    rows = {row.symbol: row for row in report.basis}
    assert sorted(rows) == sorted(symbols)
    for i, symbol in enumerate(symbols):
        row = rows[symbol]
        for name in ("basis", "basis_pct", "annualized_pct", "funding_apr_pct"):
            engine = getattr(row, name)
            kernel = float(ticker[name][i])
            assert _close(engine, None if math.isnan(kernel) else kernel), (symbol, name)
        assert row.stale == bool(ticker["stale"][i]), symbol


@pytest.mark.parametrize("shock_pct", [0.0, -12.0, 25.0, -60.0])
def test_tight_kernel_gives_the_engines_figures_on_a_generated_book(shock_pct):
    book = make_book(400)
    report = compute(book.portfolio, book.market, shock_pct, book.settings)
    layout = layout_of(book.portfolio, book.market, book.settings)
    figures = evaluate(layout, market_arrays(layout, book.market), shock_pct / 100.0)
    assert_kernel_agrees(report, figures)
    assert_basis_agrees(report, layout.symbols, figures["basis"])
    # The book reaches several tiers and liquidates some positions under a big shock:
    # the comparison covers the tier search and the liquidation test, not one branch.
    assert len(set(figures["maintenance_margin_usd"] / figures["notional_usd"])) > 3
    if shock_pct == -60.0:
        assert 0 < int(figures["liquidated"].sum()) < len(layout.positions)


def test_tight_kernel_gives_the_engines_figures_on_the_demo_book_with_its_own_tiers():
    config = load_config(PROJECT / "config.toml")
    portfolio = load_portfolio(PROJECT / "portfolio.toml").portfolio
    market = load_replay_end(PROJECT / "data" / "demo.jsonl")
    layout = layout_of(portfolio, market, config.settings)
    # The demo's contracts have different tier tables: one searchsorted per table.
    assert len(layout.tier_groups) > 1
    for shock_pct in (0.0, -30.0):
        report = compute(portfolio, market, shock_pct, config.settings)
        figures = evaluate(layout, market_arrays(layout, market), shock_pct / 100.0)
        assert_kernel_agrees(report, figures)
        assert_basis_agrees(report, layout.symbols, figures["basis"])


def test_an_edited_row_and_a_moved_market_keep_kernel_and_engine_together():
    book = make_book(300)
    layout = layout_of(book.portfolio, book.market, book.settings)
    rng = random.Random(5)
    market = moved_market(moved_market(book.market, rng), rng)
    positions = list(book.portfolio.positions)
    positions[17] = replace(positions[17], size=positions[17].size * 3.0)
    portfolio: Portfolio = replace(book.portfolio, positions=tuple(positions))
    set_position(layout, 17, positions[17])
    report = compute(portfolio, market, -5.0, book.settings)
    assert_kernel_agrees(report, evaluate(layout, market_arrays(layout, market), -0.05))


def test_both_tier_searches_put_a_notional_at_a_floor_in_that_floors_tier():
    floors = np.array([0.0, 50_000.0, 250_000.0, 1e6, 5e6])
    # Every floor, a cent either side of it, and spread values: 5,000 of them, so the
    # comparison path runs (it takes over from searchsorted at 4,096 rows).
    values = np.concatenate([floors, floors + 0.01, np.maximum(floors - 0.01, 0.0)])
    values = np.concatenate([values, np.linspace(0.0, 6e6, 5_000 - len(values))])
    expected = np.array([int(np.sum(v >= floors)) - 1 for v in values])
    assert _tier_index(floors, values).tolist() == expected.tolist()
    assert _tier_index(floors, values[:100]).tolist() == expected[:100].tolist()
    # 50,000 is tier 1 (index 1), 49,999.99 tier 0.
    assert _tier_index(floors, np.array([50_000.0, 49_999.99])).tolist() == [1, 0]
