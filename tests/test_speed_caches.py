"""Caches on the keystroke path give the same answers as computing afresh, and the
shortcuts that skip a repaint hold only when the rows would read the same."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from benchmarks.generate import make_book, moved_market
from core import edits
from core.config import load_portfolio
from core.draft import Draft
from core.engine import RiskEngine
from core.report import LazyRows
from tui.widgets.panes import PositionSource

ROOT = Path(__file__).resolve().parent.parent


def test_draft_edited_keys_follow_edits_undo_and_redo() -> None:
    draft = Draft(load_portfolio(ROOT / "portfolio.toml"))
    assert draft.edited_keys() == (frozenset(), 0)
    draft.history.push(edits.edit_position(draft.current, "h-btc", "size", "+10%"))
    assert draft.edited_keys() == (frozenset({"h-btc"}), 1)
    draft.history.undo()
    assert draft.edited_keys() == (frozenset(), 0)
    draft.history.redo()
    assert draft.edited_keys() == (frozenset({"h-btc"}), 1)
    assert draft._diff() == draft.edited_keys()


def test_lazy_rows_build_each_row_once_and_only_when_read() -> None:
    built: list[int] = []

    def build(i: int) -> str:
        built.append(i)
        return f"row {i}"

    rows = LazyRows(400, build)
    assert len(rows) == 400 and built == []
    assert rows[7] == "row 7" and rows[-1] == "row 399"
    assert rows[7] == "row 7"
    assert built == [7, 399]
    assert list(rows[2:4]) == ["row 2", "row 3"]
    assert len(tuple(rows)) == 400 and sorted(built) == list(range(400))


def test_holding_rows_are_unchanged_under_a_shock_and_changed_by_a_tick() -> None:
    compute = RiskEngine().compute
    book = make_book(200, seed=9)
    now = compute(book.portfolio, book.market, 0.0, book.settings)
    shocked = compute(book.portfolio, book.market, -12.0, book.settings)
    assert (shocked.holdings, shocked.assets) == (now.holdings, now.assets)
    later = moved_market(book.market, random.Random(2))
    ticked = compute(book.portfolio, later, 0.0, book.settings)
    assert ticked.holdings != now.holdings


def test_a_position_pane_keeps_its_rows_until_its_figures_change_and_shows_the_shock() -> None:
    compute = RiskEngine().compute
    book = make_book(200, seed=9)
    now = compute(book.portfolio, book.market, 0.0, book.settings)
    shown = PositionSource(now, "alpha", frozenset(), frozenset(), {})
    again = compute(book.portfolio, book.market, 0.0, book.settings)
    assert shown.shows_the_same_rows(again, None)
    # Under a shock the pane shows the scenario's marks and uPnL: other rows.
    shocked = compute(book.portfolio, book.market, -30.0, book.settings)
    assert not shown.shows_the_same_rows(shocked, None)
    under = PositionSource(shocked, "alpha", frozenset(), frozenset(), {})
    alpha_rows = shocked.position_frame.filter(pl.col("book") == "alpha")
    assert under.frame["mark_price"].to_list() == alpha_rows["shocked_mark_price"].to_list()
    assert under.frame["mark_price"].to_list() != shown.frame["mark_price"].to_list()
    assert under.shows_the_same_rows(
        compute(book.portfolio, book.market, -30.0, book.settings), None
    )
    alpha = next(p for p in book.portfolio.positions if p.book == "alpha")
    edited = edits.edit_position(book.portfolio, alpha.id, "size", "x2")
    after_edit = compute(edited, book.market, 0.0, book.settings)
    assert not shown.shows_the_same_rows(after_edit, None)
    assert not shown.shows_the_same_rows(now, ("upnl", True))
    marked = shown.with_highlights(frozenset({alpha.id}), frozenset(), {})
    assert marked.row_tone(shown.ids.index(alpha.id)) == "edited"
    assert shown.row_tone(shown.ids.index(alpha.id)) == ""
