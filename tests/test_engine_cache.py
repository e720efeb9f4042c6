"""compute() keeps per-position frames between calls: cached answers equal fresh ones."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from benchmarks.generate import make_book, moved_market
from core import edits
from core.engine import RiskEngine, UnsupportedContractError
from core.engine import compute as compute_afresh
from core.model import MarketState, Portfolio, Position, Settings, frozen_map
from core.report import Report


def fresh(portfolio: Portfolio, market: MarketState, shock: float, settings: Settings) -> Report:
    return compute_afresh(portfolio, market, shock, settings)


@pytest.fixture
def compute() -> Callable[..., Report]:
    """One engine kept across a test's calls, as the app keeps one."""
    return RiskEngine().compute


def assert_same_report(cached: Report, uncached: Report) -> None:
    assert cached.to_json() == uncached.to_json()
    assert cached.position_frame.equals(uncached.position_frame)
    assert cached.warnings == uncached.warnings
    assert (cached.holdings, cached.assets, cached.basis) == (
        uncached.holdings,
        uncached.assets,
        uncached.basis,
    )


def test_a_chain_of_edits_ticks_and_shocks_matches_computing_afresh_each_time(
    compute: Callable[..., Report],
) -> None:
    book = make_book(300, seed=4)
    rng = random.Random(4)
    portfolio, market = book.portfolio, book.market
    compute(portfolio, market, 0.0, book.settings)
    for step in range(36):
        position = rng.choice(portfolio.positions)
        change = step % 6
        if change == 5 and position.kind != "basis":
            # Hedge <-> alpha: the per-book sums and masks follow.
            portfolio = edits.move_position(portfolio, position.id)
        elif change == 0:
            portfolio = edits.edit_position(portfolio, position.id, "size", "x1.5")
        elif change == 1:
            portfolio = edits.toggle_position(portfolio, position.id, "margin_mode")
        elif change == 2:
            portfolio = edits.toggle_position(portfolio, position.id, "side")
        elif change == 3 and position.kind != "basis":
            # A symbol the book may not hold yet: the symbol table grows.
            portfolio = edits.edit_position(portfolio, position.id, "symbol", "ETH/USDT:USDT")
        else:
            market = moved_market(market, rng, step=0.02)
        shock = rng.choice([0.0, -8.0, 15.0, -70.0])
        cached = compute(portfolio, market, shock, book.settings)
        assert_same_report(cached, fresh(portfolio, market, shock, book.settings))


def test_an_earlier_report_keeps_its_figures_after_later_edits(
    compute: Callable[..., Report],
) -> None:
    book = make_book(50, seed=5)
    before = compute(book.portfolio, book.market, 0.0, book.settings)
    frame_before = before.position_frame.clone()
    edited = edits.edit_position(book.portfolio, book.portfolio.positions[0].id, "size", "x3")
    after = compute(edited, book.market, 0.0, book.settings)
    assert not after.position_frame.equals(frame_before)
    assert before.position_frame.equals(frame_before)


def test_adding_and_deleting_positions_matches_computing_afresh(
    compute: Callable[..., Report],
) -> None:
    book = make_book(40, seed=6)
    portfolio = book.portfolio
    compute(portfolio, book.market, 0.0, book.settings)
    portfolio, _ = edits.add_position(
        portfolio, "alpha", "BTC/USDT:USDT", "long", 0.5, 60_000.0, 5.0
    )
    assert_same_report(
        compute(portfolio, book.market, -5.0, book.settings),
        fresh(portfolio, book.market, -5.0, book.settings),
    )
    portfolio = edits.delete_position(portfolio, portfolio.positions[3].id)
    assert_same_report(
        compute(portfolio, book.market, -5.0, book.settings),
        fresh(portfolio, book.market, -5.0, book.settings),
    )


def test_tier_changes_missing_marks_and_new_settings_are_picked_up(
    compute: Callable[..., Report],
) -> None:
    book = make_book(60, seed=7)
    compute(book.portfolio, book.market, 0.0, book.settings)
    symbols = sorted({p.symbol for p in book.portfolio.positions})
    tiers = dict(book.market.tiers)
    tiers[symbols[0]] = tiers[symbols[0]][:2]  # fewer tiers for one contract
    del tiers[symbols[1]]  # no tiers: the default rate, with a warning
    contracts = dict(book.market.contracts)
    contracts[symbols[2]] = replace(contracts[symbols[2]], mark=None)
    market = replace(book.market, tiers=frozen_map(tiers), contracts=frozen_map(contracts))
    cached = compute(book.portfolio, market, 3.0, book.settings)
    assert any("no leverage tiers" in w for w in cached.warnings)
    assert any("no mark price" in w for w in cached.warnings)
    assert_same_report(cached, fresh(book.portfolio, market, 3.0, book.settings))
    settings = Settings(betas=frozen_map({}), default_mmr=0.02)
    assert_same_report(
        compute(book.portfolio, market, 3.0, settings),
        fresh(book.portfolio, market, 3.0, settings),
    )


def test_an_inverse_contract_is_refused_even_after_a_cached_compute(
    compute: Callable[..., Report],
) -> None:
    book = make_book(20, seed=8)
    compute(book.portfolio, book.market, 0.0, book.settings)
    inverse = Position("inv", "alpha", "BTC/USD:BTC", "long", 100.0, 60_000.0, 2.0)
    positions = list(book.portfolio.positions)
    positions[5] = inverse
    portfolio = replace(book.portfolio, positions=tuple(positions))
    with pytest.raises(UnsupportedContractError, match="position inv"):
        compute(portfolio, book.market, 0.0, book.settings)


def test_per_asset_sums_are_the_same_on_every_run(compute: Callable[..., Report]) -> None:
    book = make_book(2_000, seed=9)
    first = fresh(book.portfolio, book.market, 0.0, book.settings)
    for _ in range(5):
        again = fresh(book.portfolio, book.market, 0.0, book.settings)
        assert (again.assets, again.totals) == (first.assets, first.totals)


def test_rows_read_after_later_computes_belong_to_their_own_report(
    compute: Callable[..., Report],
) -> None:
    # Holding and asset rows are built on first access: later calls must not leak in.
    book = make_book(200, seed=6)
    first = compute(book.portfolio, book.market, -10.0, book.settings)
    portfolio = book.portfolio
    for position in portfolio.positions[:5]:
        portfolio = edits.edit_position(portfolio, position.id, "size", "x3")
        compute(portfolio, moved_market(book.market, random.Random(1), 0.05), 5.0, book.settings)
    assert_same_report(first, fresh(book.portfolio, book.market, -10.0, book.settings))


def test_the_symbol_table_stays_bounded_over_many_contract_edits() -> None:
    # Each edit moves one position to a contract never seen before: the append-only
    # symbol table would grow by one per edit; the engine starts afresh past its bound.
    engine = RiskEngine()
    engine.frames.symbol_limit = limit = 64
    book = make_book(10, seed=3)
    portfolio = book.portfolio
    target = next(p for p in portfolio.positions if p.kind != "basis")
    for i in range(3 * limit):
        portfolio = edits.edit_position(portfolio, target.id, "symbol", f"Z{i}/USDT:USDT")
        engine.compute(portfolio, book.market, 0.0, book.settings)
        # 10 positions use at most 10 symbols (+ the market's): never far past the limit.
        assert len(engine.frames.symbols.names) <= limit + 2 * 40
    assert_same_report(
        engine.compute(portfolio, book.market, -5.0, book.settings),
        fresh(portfolio, book.market, -5.0, book.settings),
    )
