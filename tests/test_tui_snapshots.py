"""Snapshots of the main screen on the demo at a small and a wide terminal."""

from __future__ import annotations

import pytest

from tests.tui_helpers import make_app, make_workspace


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen_on_the_demo(snap_compare, tmp_path, size):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=size)


def test_main_screen_under_a_shock_with_a_liquidation(snap_compare, tmp_path):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=(160, 48), press=["3", *["{"] * 10])
