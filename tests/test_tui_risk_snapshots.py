"""Snapshots of the stress grid and the carry board on the demo."""

from __future__ import annotations

from tests.tui_helpers import make_app, make_workspace


async def open_stress_grid(pilot) -> None:
    await pilot.press("x")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # the grid is computed in a thread
    # Its rows land from the thread as messages, and the DataTable sizes its columns
    # when it is next idle (its own pending flag): wait until the rows are in, that
    # sizing is done and the size has held for a pause (a loaded machine is slow).
    table = pilot.app.screen.query_one("#stress-table")
    seen = None
    for _ in range(100):
        await pilot.pause(0.05)
        size = (table.row_count, table.virtual_size)
        settled = table.row_count and not table._require_update_dimensions
        if settled and size == seen:
            break
        seen = size
    await pilot.pause()


def test_stress_grid_on_the_demo(snap_compare, tmp_path):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_stress_grid)


def test_carry_board_on_the_demo(snap_compare, tmp_path):
    app = make_app(make_workspace(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), press=["b"])
