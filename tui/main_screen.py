"""The main screen: summary, four panes, the in-place cell editor and the status line.

It owns composition and painting, and turns the tables' intents (edit, add,
delete, move, details, sort) into what-if edits of the app's draft.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Container, Horizontal
from textual.css.query import NoMatches
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from core import edits, whatif
from core.model import Portfolio
from tui.columns import Column, editable_hint
from tui.details import holding_details, position_details
from tui.screens import TextScreen
from tui.text import escape
from tui.widgets.book_table import BookTable
from tui.widgets.panes import BasisPane, HoldingsPane, Pane, PaneView, PositionPane
from tui.widgets.summary import FeedView, SummaryBar

if TYPE_CHECKING:
    from core.report import Report
    from tui.app import SymbiosisApp

NARROW_WIDTH = 120
NUMBER_HINT = "numbers: 1.5  +20%  -10%  x1.2"


@dataclass
class EditContext:
    """What the cell editor is editing."""

    kind: str  # cell | collateral | add-position | add-holding
    key: str = ""
    field: str = ""
    book: str = ""
    table: BookTable | None = None


Change = Callable[[Portfolio], whatif.Outcome]


class MainScreen(Screen[None]):
    """Summary, panes, editor, status line."""

    app: SymbiosisApp

    def __init__(self) -> None:
        super().__init__()
        self.edit: EditContext | None = None
        self.panes: dict[str, Pane] = {
            "holdings": HoldingsPane(),
            "hedge": PositionPane("hedge"),
            "alpha": PositionPane("alpha"),
            "basis": BasisPane(),
        }

    def compose(self) -> ComposeResult:
        yield SummaryBar(id="summary")
        with Container(id="panes"):
            with Horizontal(id="spot-row"):
                yield self.panes["holdings"]
                yield self.panes["basis"]
            yield self.panes["hedge"]
            yield self.panes["alpha"]
        yield Input(id="cell-editor", select_on_focus=True)
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.apply_layout(self.app.size.width)
        self.app.main_mounted()

    def on_resize(self, event: events.Resize) -> None:
        self.apply_layout(event.size.width)

    def apply_layout(self, width: int) -> None:
        self.set_class(width < NARROW_WIDTH, "-narrow")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # The pane of the focused table stays active (unfolded, highlighted)
        # while the in-place editor holds the focus.
        if isinstance(event.widget, BookTable):
            for pane in self.panes.values():
                pane.set_class(pane.table is event.widget, "-active")
            spot_row = self.query_one("#spot-row")
            spot_row.set_class(event.widget.book in ("holdings", "basis"), "-holds-active")

    # -- painting ---------------------------------------------------------------

    def paint(self, view: PaneView, saved: Report | None, feed: FeedView, dirty: int) -> None:
        """Every pane decides from the view whether it changed; then the summary."""
        for pane in self.panes.values():
            pane.show(view)
        self.show_summary(view.report, saved, feed, dirty)

    def show_summary(
        self, report: Report, saved: Report | None, feed: FeedView, dirty: int
    ) -> None:
        self.query_one(SummaryBar).show(report, saved, feed, dirty)

    def table(self, book: str) -> BookTable:
        return self.panes[book].table

    def focus_pane(self, book: str) -> None:
        self.set_focus(self.table(book))

    def say(self, message: str, severity: str = "information") -> bool:
        """One status line under the panes (errors stay until the next message);
        False when the line is not there (not composed yet, or shutting down)."""
        try:
            status = self.query_one("#status", Static)
        except NoMatches:
            return False
        status.set_classes(f"-{severity}")
        status.update(escape(message))
        return True

    @property
    def focused_table(self) -> BookTable | None:
        focused = self.focused
        return focused if isinstance(focused, BookTable) else None

    # -- intents from the tables ---------------------------------------------------

    @on(BookTable.EditRequested)
    def edit_cell(self, event: BookTable.EditRequested) -> None:
        table, column, key = event.table, event.column, event.row_key
        if table.book == "basis":
            self.say("the basis ticker is market data; nothing to edit")
            return
        if key is None:
            self.say("no row here: press a to add one")
            return
        if not column.editable or column.field is None:
            hint = editable_hint(table.all_columns)
            self.say(f"{column.label} is computed; editable here: {hint}")
            return
        if column.editor == "toggle":
            field_name = column.field
            self.app.apply(lambda p: whatif.toggle(p, self.app.market, key, field_name))
            return
        old = self._old_value(table.book, key, column)
        self.open_editor(
            EditContext("cell", key, column.field, table=table),
            f"{key} {column.field}",
            old,
            NUMBER_HINT if column.editor == "number" else "",
        )

    def _old_value(self, book: str, key: str, column: Column) -> str:
        portfolio = self.app.draft.current
        if book == "holdings":
            row: Any = next(h for h in portfolio.holdings if h.asset == key)
        else:
            row = portfolio.position(key)
        old = getattr(row, column.field or "", None)
        if old is None:
            return ""
        return old if isinstance(old, str) else f"{old:g}"

    @on(BookTable.AddRequested)
    def add_row(self, event: BookTable.AddRequested) -> None:
        table = event.table
        if table.book == "holdings":
            self.open_editor(EditContext("add-holding", table=table), "new holding (ASSET QTY)", "")
        elif table.book in ("hedge", "alpha"):
            key = event.row_key
            symbol = self.app.draft.current.position(key).symbol if key else "BTC/USDT:USDT"
            side = "short" if table.book == "hedge" else "long"
            self.open_editor(
                EditContext("add-position", book=table.book, table=table),
                f"new {table.book} position: {whatif.ADD_SYNTAX}",
                f"{symbol} {side} ",
            )
        else:
            self.say("the basis ticker is market data; nothing to add")

    @on(BookTable.DeleteRequested)
    def delete_row(self, event: BookTable.DeleteRequested) -> None:
        key, book = event.row_key, event.table.book
        if key is None or book == "basis":
            return
        if book == "holdings":
            self.app.apply(
                lambda p: whatif.Outcome(edits.delete_holding(p, key), f"{key} deleted"),
                " (u undoes)",
            )
        else:
            self.app.apply(lambda p: whatif.delete(p, self.app.market, key), " (u undoes)")

    @on(BookTable.MoveRequested)
    def move_row(self, event: BookTable.MoveRequested) -> None:
        key = event.row_key
        if key is None:
            return
        target = "alpha engine" if event.table.book == "hedge" else "hedge overlay"
        self.app.apply(
            lambda p: whatif.Outcome(edits.move_position(p, key), f"{key} moved to the {target}")
        )

    @on(BookTable.DetailsRequested)
    def show_details(self, event: BookTable.DetailsRequested) -> None:
        key, report, book = event.row_key, self.app.report, event.table.book
        if key is None or report is None or book == "basis":
            self.say("details: put the cursor on a holding or a position")
            return
        portfolio = self.app.draft.current
        if book == "holdings":
            holding = next(h for h in report.holdings if h.asset == key)
            asset = next((a for a in report.assets if a.asset == key), None)
            note = next(h.note for h in portfolio.holdings if h.asset == key)
            details = holding_details(holding, asset, note)
        else:
            note = portfolio.position(key).note
            details = position_details(report.position(key), note, self.app.shock_pct)
        self.app.push_screen(TextScreen(details))

    @on(BookTable.SortRequested)
    def sort_rows(self, event: BookTable.SortRequested) -> None:
        """Sort by the column under the cursor; again flips the order."""
        table, column = event.table, event.column
        pane = self.panes[table.book]
        if pane.sortable(column.key) is None:
            why = (
                "the basis ticker keeps the exchange's order"
                if table.book == "basis"
                else f"{column.label} cannot be sorted (it reads two rows' figures)"
            )
            self.say(f"not sorted: {why}")
            return
        if table.sort and table.sort[0] == column.key:
            table.sort = (column.key, not table.sort[1])
        else:
            # Risk columns read best worst-first: closest to liquidation, biggest loss.
            ascending = {"dist", "upnl", "id", "symbol", "side", "asset", "shock_liq", "pnl"}
            table.sort = (column.key, column.key not in ascending)
        key = table.current_key
        self.app.paint()
        if key is not None:
            table.move_to_key(key)
        order = "descending" if table.sort[1] else "ascending"
        self.say(f"sorted by {column.label} ({order}); s again flips it")

    # -- the cell editor -----------------------------------------------------------

    def _editor_region(self, context: EditContext) -> Region:
        """Where the in-place editor sits: over the cell, the next free row, or the summary."""
        table = context.table
        if context.kind == "cell" and table is not None:
            cell = table.cursor_region()
            wanted = 24 if context.field in ("symbol", "note") else 14
            return Region(cell.x, cell.y, max(cell.width, wanted), 1)
        if context.kind.startswith("add") and table is not None:
            return table.next_row_region()
        summary = self.query_one(SummaryBar).region
        return Region(summary.right - 32, summary.y, 30, 1)

    def open_editor(self, context: EditContext, what: str, value: str, hint: str = "") -> None:
        """Open the one-line editor in place; the status line says what is edited."""
        self.edit = context
        editor = self.query_one("#cell-editor", Input)
        region = self._editor_region(context)
        editor.styles.offset = (region.x, region.y)
        editor.styles.width = region.width
        editor.value = value
        editor.add_class("-open")
        # Focus now, not after a refresh: the next key of a burst goes to the editor.
        self.set_focus(editor)
        # Typing replaces the old value; arrows keep it for a small change.
        editor.action_select_all()
        self.say(
            f"Edit {what} — enter applies, esc cancels" + (f" · {hint}" if hint else ""), "prompt"
        )

    def close_editor(self) -> None:
        self.query_one("#cell-editor", Input).remove_class("-open")
        context, self.edit = self.edit, None
        if context and context.table is not None:
            self.set_focus(context.table)

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.edit is not None:
            event.stop()
            self.close_editor()
            self.say("edit cancelled")

    @on(Input.Submitted, "#cell-editor")
    def submit_edit(self, event: Input.Submitted) -> None:
        context = self.edit
        if context is None:
            return
        try:
            change = self._change_for(context, event.value)
            outcome = change(self.app.draft.current)
        except edits.EditError as exc:
            self.say(f"✗ {exc} — old value kept; fix it or press esc", "error")
            return
        self.close_editor()
        self.app.apply(lambda p: outcome)
        if outcome.new_id and context.table is not None:
            context.table.move_to_key(outcome.new_id)

    def _change_for(self, context: EditContext, text: str) -> Change:
        market = self.app.market
        if context.kind == "cell":
            return lambda p: whatif.edit(p, market, context.key, context.field, text)
        if context.kind == "collateral":
            return lambda p: whatif.edit(p, market, "account", "collateral_usd", text)
        if context.kind == "add-holding":
            parts = text.split()
            if not parts:
                raise edits.EditError("type an asset and a quantity, e.g. SOL 10")
            qty = parts[1] if len(parts) > 1 else "0"
            return lambda p: whatif.Outcome(
                edits.add_holding(p, parts[0], qty), f"{parts[0].upper()} added"
            )
        if context.kind == "add-position":
            return lambda p: whatif.add(p, market, context.book, text)
        raise edits.EditError(f"unknown edit {context.kind}")

    def edit_collateral(self) -> None:
        self.open_editor(
            EditContext("collateral", field="collateral_usd", table=self.focused_table),
            "cross-margin wallet collateral_usd",
            f"{self.app.draft.current.collateral_usd:g}",
            NUMBER_HINT,
        )
