"""`python -m benchmarks.minimal_app CELLS HZ`: the least a Textual app can do to show
CELLS numbers that all change HZ times a second (the yardstick for bytes and CPU).

One fixed-size Static per cell, in a grid; each tick gives every cell a new
number formatted like the app's money columns. Textual repaints only the cells
that were updated, so what it writes is close to what the changed cells need.
"""

from __future__ import annotations

import random
import sys

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widgets import Static

CELL_WIDTH = 13


class MinimalApp(App[None]):
    CSS = f"""
    Grid {{ grid-size: 14; grid-columns: {CELL_WIDTH + 1}; grid-rows: 1; height: auto; }}
    Static {{ width: {CELL_WIDTH}; height: 1; content-align: right middle; }}
    """

    def __init__(self, cells: int, hz: float) -> None:
        super().__init__()
        self.cells, self.hz = cells, hz
        self.rng = random.Random(3)
        self.values = [self.rng.uniform(100.0, 90_000.0) for _ in range(cells)]

    def compose(self) -> ComposeResult:
        with Grid():
            for value in self.values:
                yield Static(f"{value:,.2f}")

    def on_mount(self) -> None:
        self.statics = list(self.query(Static))
        self.set_interval(1.0 / self.hz, self.tick)

    def tick(self) -> None:
        for i, cell in enumerate(self.statics):
            self.values[i] *= 1 + self.rng.uniform(-5e-4, 5e-4)
            cell.update(f"{self.values[i]:,.2f}", layout=False)


if __name__ == "__main__":
    MinimalApp(int(sys.argv[1]), float(sys.argv[2])).run()
