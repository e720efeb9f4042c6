"""Signed column charts in text: positive values rise above a zero line, negative ones
hang below it (Textual's Sparkline draws magnitudes only, so a rate that crosses zero
would read as positive there)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

# Lower eighth blocks: index n fills the bottom n/8 of a cell.
_LOWER = " ▁▂▃▄▅▆▇█"


def signed_rows(
    values: Sequence[float | None],
    column_width: int,
    height: int,
    positive: Style,
    negative: Style,
) -> list[Text]:
    """`height` lines (even: half above zero, half below), one column per value.

    A negative column is drawn from the zero line down: a lower block in reverse
    video fills a cell from the top, so the same eighths serve both directions.
    """
    half = max(height // 2, 1)
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    scale = max(finite, default=0.0)
    levels = []
    for v in values:
        if v is None or not math.isfinite(v) or scale == 0:
            levels.append(0)
        else:
            # A non-zero value shows at least one eighth: small is not the same as zero.
            level = round(abs(v) / scale * 8 * half)
            levels.append((max(level, 1) if v else 0) * (1 if v > 0 else -1))
    reversed_negative = negative + Style(reverse=True)
    lines = []
    for row in range(half):  # above the line, top row first
        floor = 8 * (half - 1 - row)
        cells = [
            (_LOWER[min(max(level - floor, 0), 8)], positive) if level > 0 else (" ", None)
            for level in levels
        ]
        lines.append(_joined(cells, column_width))
    for row in range(half):  # below the line, nearest row first
        floor = 8 * row
        cells = []
        for level in levels:
            fill = min(max(-level - floor, 0), 8) if level < 0 else 0
            if fill == 0:
                cells.append((" ", None))
            elif fill == 8:
                cells.append(("█", negative))
            else:
                cells.append((_LOWER[8 - fill], reversed_negative))
        lines.append(_joined(cells, column_width))
    return lines


def _joined(cells: Sequence[tuple[str, Style | None]], column_width: int) -> Text:
    """One line from (glyph, style) cells, with one span per run of a style (a sparkline
    of 200 points is a handful of spans, not 200)."""
    line = Text()
    run: list[str] = []
    style: Style | None = None
    for glyph, cell_style in cells:
        if cell_style is not style and run:
            line.append("".join(run), style)
            run = []
        style = cell_style
        run.append(glyph * column_width)
    if run:
        line.append("".join(run), style)
    return line


class SignedChart(Widget):
    """A signed column chart of a series, fitted to the widget's width."""

    COMPONENT_CLASSES = {"signed-chart--positive", "signed-chart--negative"}

    def __init__(
        self,
        values: Sequence[float | None] = (),
        *,
        bar_width: int = 0,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.values: list[float | None] = list(values)
        self.bar_width = bar_width  # 0: as wide as the widget allows
        self.labels: list[str] = []  # one per value ("" for none), drawn under the chart

    def set_values(self, values: Sequence[float | None], labels: Sequence[str] = ()) -> None:
        self.values = list(values)
        self.labels = list(labels)
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, max(self.size.height - (1 if self.labels else 0), 2)
        values = self.values
        if self.bar_width:
            column = self.bar_width
            values = values[-max(width // column, 1) :]
        else:
            column = max(width // max(len(values), 1), 1)
            values = values[-max(width // column, 1) :]
        rows = signed_rows(
            values,
            column,
            height - height % 2,
            self.get_component_rich_style("signed-chart--positive"),
            self.get_component_rich_style("signed-chart--negative"),
        )
        if self.labels:
            rows.append(Text(axis_line(self.labels[-len(values) :], column, width)))
        return Text("\n").join(rows)


def axis_line(labels: Sequence[str], column_width: int, width: int) -> str:
    """Labels under their columns, left to right, each skipped if it would overlap."""
    line = ""
    for i, label in enumerate(labels):
        if not label:
            continue
        start = i * column_width
        if start < len(line) + (1 if line else 0):
            continue
        line = line.ljust(start) + label
    return line[:width]
