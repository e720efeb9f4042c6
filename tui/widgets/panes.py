"""The four book panes: each one shows its rows of a Report and decides itself
whether a new report changes what it shows.

Row sources format a row only when the table paints it; position rows are read
from the Report's columnar position frame by index.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import polars as pl
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Region

from core.model import MarketState, Portfolio
from core.report import AssetRow, BasisRow, HoldingRow, Report
from tui.columns import (
    ALPHA_COLUMNS,
    BASIS_COLUMNS,
    HEDGE_COLUMNS,
    HOLDING_COLUMNS,
    POSITION_FIELDS,
    SHOCKED_FIELDS,
    Row,
    Tone,
)
from tui.widgets.book_table import BookTable

# Rows fetched from the frame per polars call: more than a tall screen's pane shows
# (a new report fetches its window again, so a bigger one costs every tick).
ROW_WINDOW = 64


@dataclass(frozen=True)
class PaneView:
    """What every pane is shown from: one report and the draft it was computed on."""

    report: Report
    portfolio: Portfolio
    market: MarketState
    edited: frozenset[str]
    shock_pct: float


def shock_words(shock_pct: float) -> str:
    """'under BTC −10 %' (a title's note of the scenario shown)."""
    sign = "−" if shock_pct < 0 else "+"
    return f"under BTC {sign}{abs(shock_pct):g} %"


class HoldingsSource:
    def __init__(
        self,
        report: Report,
        edited: frozenset[str],
        notes: Mapping[str, str],
        sort: tuple[str, bool] | None = None,
        sort_field: str | None = None,
    ) -> None:
        self.report = report
        self.sort = sort
        rows: tuple[HoldingRow, ...] = report.holdings
        if sort is not None and sort_field is not None:
            key = sort_field
            present = [r for r in rows if getattr(r, key) is not None]
            missing = [r for r in rows if getattr(r, key) is None]
            rows = (*sorted(present, key=lambda r: getattr(r, key), reverse=sort[1]), *missing)
        self.rows = rows
        self.assets: dict[str, AssetRow] = {a.asset: a for a in report.assets}
        self.edited = edited
        self.notes = notes

    def __len__(self) -> int:
        return len(self.rows)

    def key(self, index: int) -> str:
        return self.rows[index].asset

    def row(self, index: int) -> Row:
        h = self.rows[index]
        return {
            "holding": h,
            "asset": self.assets.get(h.asset),
            "edited": h.asset in self.edited,
            "holding_note": self.notes.get(h.asset, ""),
        }

    def row_tone(self, index: int) -> Tone:
        return "edited" if self.rows[index].asset in self.edited else ""


class PositionSource:
    """Rows of one book, read from the report's position frame on demand."""

    def __init__(
        self,
        report: Report,
        book: str,
        edited: frozenset[str],
        liquidated: frozenset[str],
        notes: Mapping[str, str],
        sort: tuple[str, bool] | None = None,
        sort_field: str | None = None,
    ) -> None:
        frame = report.position_frame
        self.report_frame = frame
        self.sort = sort
        self.shocked = bool(report.scenario.shock_pct)
        # Under a shock, the scenario's figures in place of today's.
        swap = SHOCKED_FIELDS if self.shocked else {}
        self.names = list(POSITION_FIELDS)
        if frame.height:
            # Series by Series, eagerly: a lazy filter + select pays polars' query
            # start-up (~0.4 ms of CPU) on every feed tick, for each pane.
            mine = frame["book"] == book
            self.frame = pl.DataFrame(
                [frame[swap.get(name, name)].filter(mine).alias(name) for name in self.names]
            )
        else:
            self.frame = frame
        if sort_field and sort_field in self.frame.columns and self.frame.height:
            self.frame = self.frame.sort(
                sort_field, descending=bool(sort and sort[1]), nulls_last=True
            )
        self.ids: list[str] = self.frame["id"].to_list() if self.frame.height else []
        self.edited = edited
        self.liquidated = liquidated
        self.notes = notes
        self._window_start = 0
        self._window: list[tuple] = []

    def shows_the_same_rows(self, report: Report, sort: tuple[str, bool] | None) -> bool:
        """Would a source over `report` read the same rows? Compared on the report's
        columns (a few microseconds each), before any filtering or sorting."""
        frame = report.position_frame
        if (
            self.sort != sort
            or self.report_frame.shape != frame.shape
            or self.shocked != bool(report.scenario.shock_pct)
        ):
            return False
        old = self.report_frame
        names = ("book", *POSITION_FIELDS, *(SHOCKED_FIELDS.values() if self.shocked else ()))
        return all(old[name].equals(frame[name]) for name in names)

    def with_highlights(
        self, edited: frozenset[str], liquidated: frozenset[str], notes: Mapping[str, str]
    ) -> PositionSource:
        """The same rows with other edited and liquidated marks (and notes)."""
        source = copy.copy(self)
        source.edited, source.liquidated, source.notes = edited, liquidated, notes
        return source

    def __len__(self) -> int:
        return len(self.ids)

    def _values(self, index: int) -> tuple:
        """One row's values; fetched a screenful at a time (one polars call per window)."""
        offset = index - self._window_start
        if 0 <= offset < len(self._window):
            return self._window[offset]
        self._window_start = max(index - ROW_WINDOW // 4, 0)
        self._window = self.frame.slice(self._window_start, ROW_WINDOW).rows()
        return self._window[index - self._window_start]

    def key(self, index: int) -> str:
        return self.ids[index]

    def row(self, index: int) -> Row:
        row = dict(zip(self.names, self._values(index), strict=True))
        pid = row["id"]
        row["edited"] = pid in self.edited
        row["liquidated"] = pid in self.liquidated
        row["note"] = self.notes.get(pid, "")
        return row

    def row_tone(self, index: int) -> Tone:
        pid = self.ids[index]
        if pid in self.liquidated:
            return "alert"
        return "edited" if pid in self.edited else ""


class BasisSource:
    def __init__(self, report: Report, clock_ms: int) -> None:
        self.rows: Any = report.basis_rows
        self.clock_ms = clock_ms

    def __len__(self) -> int:
        return len(self.rows)

    def key(self, index: int) -> str:
        return self.rows[index].symbol

    def row(self, index: int) -> Row:
        b: BasisRow = self.rows[index]
        return {"basis": b, "clock_ms": self.clock_ms}

    def row_tone(self, index: int) -> Tone:
        return "stale" if self.rows[index].stale else ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class Pane(Vertical):
    """A bordered pane holding one book table; it repaints itself from a PaneView."""

    DEFAULT_CLASSES = "pane"

    # While a new title is being set: the border line (0 top, height - 1 bottom) that
    # its refresh repaints.
    _border_lines: tuple[int, ...] | None = None

    def __init__(self, title: str, table: BookTable, pane_id: str) -> None:
        super().__init__(id=pane_id)
        self.table = table
        self.title = title
        self.border_title = title
        self._shown_titles: tuple[str, str] = (title, "")

    def compose(self) -> ComposeResult:
        yield self.table

    @property
    def rows_wanted(self) -> int:
        """Lines the pane needs to show every row (header and border included)."""
        return len(self.table.source) + 3

    def show(self, view: PaneView) -> None:
        """Show the view's rows where they differ from what is on screen."""
        raise NotImplementedError

    def sortable(self, column_key: str) -> str | None:
        """The field a column sorts by, or None."""
        column = next((c for c in self.table.all_columns if c.key == column_key), None)
        return column.sort if column else None

    def _set_titles(self, title: str, subtitle: str) -> None:
        # Setting a border title refreshes the whole pane, even to the same text, and
        # every line of it goes to the terminal again: only its border line changed.
        old_title, old_subtitle = self._shown_titles
        if (old_title, old_subtitle) == (title, subtitle):
            return
        self._shown_titles = (title, subtitle)
        height = self.outer_size.height
        laid_out = bool(height) and self.is_mounted
        try:
            if title != old_title:
                self._border_lines = (0,) if laid_out else None
                self.border_title = title
            if subtitle != old_subtitle:
                self._border_lines = (height - 1,) if laid_out else None
                self.border_subtitle = subtitle
        finally:
            self._border_lines = None

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        lines = self._border_lines
        if lines is not None and not regions and not layout and not recompose:
            # Regions are relative to the content, inside the border.
            left, top = self.content_offset
            width = self.outer_size.width
            regions = tuple(Region(-left, y - top, width, 1) for y in lines)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class HoldingsPane(Pane):
    def __init__(self) -> None:
        super().__init__(
            "1 Holdings · core",
            HoldingsTable(
                HOLDING_COLUMNS,
                "no holdings — press a to add one",
                book="holdings",
                id="holdings-table",
            ),
            "pane-holdings",
        )
        self._inputs: tuple = ()
        self._rows: tuple = ()

    def show(self, view: PaneView) -> None:
        report, table = view.report, self.table
        holdings = view.portfolio.holdings
        # The rows are made from the holdings, the market and the futures (hedge
        # ratios), never the shock: identical inputs read the same rows unbuilt.
        inputs = (holdings, view.portfolio.positions, view.market)
        shown = table.source
        same_inputs = len(inputs) == len(self._inputs) and all(
            a is b or a == b for a, b in zip(inputs, self._inputs, strict=True)
        )
        notes = {h.asset: h.note for h in holdings if h.note}
        if not (
            isinstance(shown, HoldingsSource)
            and shown.sort == table.sort
            and shown.edited == view.edited
            and shown.notes == notes
            and (same_inputs or self._same_rows(report))
        ):
            sort_field = self.sortable(table.sort[0]) if table.sort else None
            table.set_source(HoldingsSource(report, view.edited, notes, table.sort, sort_field))
            self._rows = (report.holdings, report.assets)
        self._inputs = inputs
        spot = report.totals.spot_value_usd
        self._set_titles(self.title, f"{_count(len(holdings), 'asset')} · spot {spot:,.0f} $")

    def _same_rows(self, report: Report) -> bool:
        return bool(self._rows) and self._rows == (report.holdings, report.assets)


class PositionPane(Pane):
    def __init__(self, book: str) -> None:
        hedge = book == "hedge"
        title = "2 Hedge overlay" if hedge else "3 Alpha engine"
        empty = (
            "no hedges — press a to add one" if hedge else "no alpha positions — press a to add one"
        )
        super().__init__(
            title,
            PositionTable(
                HEDGE_COLUMNS if hedge else ALPHA_COLUMNS, empty, book=book, id=f"{book}-table"
            ),
            f"pane-{book}",
        )
        self.book = book
        self._counted: tuple[object, int] = ((), 0)

    def show(self, view: PaneView) -> None:
        report, table = view.report, self.table
        shown = table.source
        liquidated = report.liquidated_in_scenario
        positions = view.portfolio.positions
        notes = {p.id: p.note for p in positions if p.note}
        if not (
            isinstance(shown, PositionSource) and shown.shows_the_same_rows(report, table.sort)
        ):
            sort_field = self.sortable(table.sort[0]) if table.sort else None
            table.set_source(
                PositionSource(
                    report, self.book, view.edited, liquidated, notes, table.sort, sort_field
                )
            )
        elif shown.edited != view.edited or shown.liquidated != liquidated or shown.notes != notes:
            # Same figures, other highlights: repaint only the rows that changed tone.
            changed = (shown.edited ^ view.edited) | (shown.liquidated ^ liquidated)
            changed |= {
                k for k in set(notes) | set(shown.notes) if notes.get(k) != shown.notes.get(k)
            }
            table.set_source(shown.with_highlights(view.edited, liquidated, notes), changed=changed)
        if self._counted[0] is not positions:
            self._counted = (positions, sum(p.book == self.book for p in positions))
        title = self.title + (f" · {shock_words(view.shock_pct)}" if view.shock_pct else "")
        self._set_titles(title, _count(self._counted[1], "position"))


class BasisPane(Pane):
    def __init__(self) -> None:
        super().__init__(
            "4 Basis ticker",
            BookTable(BASIS_COLUMNS, "no futures quotes yet", book="basis", id="basis-table"),
            "pane-basis",
        )

    def show(self, view: PaneView) -> None:
        report, table = view.report, self.table
        shown = table.source
        if not (
            isinstance(shown, BasisSource)
            and shown.clock_ms == view.market.clock_ms
            and shown.rows is report.basis_rows
        ):
            table.set_source(BasisSource(report, view.market.clock_ms))
        self._set_titles(self.title, f"{view.market.exchange or 'market'} · {view.market.status}")

    def sortable(self, column_key: str) -> str | None:
        return None


_ROW_BINDINGS = [
    Binding("a", "add", "Add", id="edit.add-row", tooltip="add a row to the focused pane"),
    Binding(
        "d", "delete", "Delete", id="edit.delete-row", tooltip="delete the row under the cursor"
    ),
    Binding("i", "details", "Details", id="pane.details", tooltip="every figure of the row"),
]


class HoldingsTable(BookTable):
    BINDINGS = list(_ROW_BINDINGS)


class PositionTable(BookTable):
    BINDINGS = [
        *_ROW_BINDINGS,
        Binding(
            "m",
            "move",
            "Move book",
            id="edit.move-row",
            tooltip="move a position between hedge overlay and alpha engine",
        ),
    ]
