"""Snapshots of the stress grid and the carry board on the demo."""

from __future__ import annotations

from tests.tui_helpers import make_app, make_workspace


async def open_stress_grid(pilot) -> None:
    await pilot.press("x")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # the grid is computed in a thread
    # Its rows and chart land from the thread as messages: let a loaded machine paint them.
    await pilot.pause(0.2)
    await pilot.pause()


def test_stress_grid_on_the_demo(snap_compare, tmp_path):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_stress_grid)


def test_carry_board_on_the_demo(snap_compare, tmp_path):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), press=["b"])
