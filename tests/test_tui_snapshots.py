"""Snapshots of the main screen on the demo at the three sizes we check by hand."""

from __future__ import annotations

import pytest

from tests.tui_helpers import make_app, make_workspace

SIZES = [(80, 24), (120, 40), (200, 50)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_main_screen_on_the_demo(snap_compare, tmp_path, size):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=size)


def test_main_screen_under_a_shock_with_a_liquidation(snap_compare, tmp_path):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=(120, 40), press=["3", *["{"] * 10])


def test_an_edited_row_under_the_cursor(snap_compare, tmp_path):
    app = make_app(make_workspace(tmp_path))
    keys = ["2", "l", "l", "l", "enter", *"0.4", "enter"]
    assert snap_compare(app, terminal_size=(120, 40), press=keys)
