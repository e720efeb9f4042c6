"""Caches on the keystroke path give the same answers as computing afresh."""

from __future__ import annotations

from pathlib import Path

from core import edits
from core.config import load_portfolio
from tui.app import Draft

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
