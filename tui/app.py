"""The Symbiosis Textual app: four panes, summary bar, keyboard what-if editing."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.css.query import NoMatches
from textual.geometry import Region
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from core import edits, whatif
from core.config import (
    AppConfig,
    LoadedPortfolio,
    SaveConflictError,
    load_portfolio,
    save_portfolio,
)
from core.draft import Draft
from core.engine import RiskEngine, UnsupportedContractError
from core.model import MarketState, Portfolio
from core.report import Report
from tui import format as fmt
from tui.feed_runner import FeedRunner, initial_market_and_feed
from tui.import_screen import open_import_screen
from tui.screens import ChoiceScreen, HelpScreen, TextScreen
from tui.themes import load_themes
from tui.widgets.book_table import BookTable
from tui.widgets.panes import (
    BasisSource,
    HoldingsSource,
    PositionSource,
    alpha_table,
    basis_table,
    hedge_table,
    holdings_table,
)
from tui.widgets.risk_tools import RISK_BINDINGS, RiskTools
from tui.widgets.summary import FeedView, SummaryBar

# Which portfolio field a column edits.
POSITION_FIELDS = {
    "symbol": "symbol",
    "side": "side",
    "size": "size",
    "entry": "entry_price",
    "lev": "leverage",
    "mode": "margin_mode",
    "margin": "margin_usd",
    "spot_qty": "spot_qty",
}
HOLDING_FIELDS = {"qty": "qty", "cost": "cost_usd"}
TOGGLES = {"side", "margin_mode"}
NARROW_WIDTH = 120
# Feed ticks within this window are one recompute and one repaint: up to four
# frames a second, enough to read and light over SSH.
COALESCE_S = 0.25
# A tick waits behind keystrokes at most this long: prices stay live while typing.
MAX_TICK_DELAY_S = 0.5
PANES = ("holdings", "hedge", "alpha", "basis")


@dataclass
class EditContext:
    """What the edit bar is editing."""

    kind: str  # position | holding | collateral | add-position | add-holding
    key: str = ""
    field: str = ""
    book: str = ""
    table: BookTable | None = None


class Pane(Vertical):
    """A bordered pane holding one book table."""

    def __init__(self, title: str, table: BookTable, pane_id: str) -> None:
        super().__init__(id=pane_id, classes="pane")
        self.table = table
        self.border_title = title

    def compose(self) -> ComposeResult:
        yield self.table


class MainScreen(Screen):
    def on_mount(self) -> None:
        self.app.main_mounted()  # type: ignore[attr-defined]

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # The pane of the focused table stays active (unfolded, highlighted)
        # while the in-place editor holds the focus.
        if isinstance(event.widget, BookTable):
            for pane in self.query(Pane):
                pane.set_class(pane.table is event.widget, "-active")

    def compose(self) -> ComposeResult:
        yield SummaryBar(id="summary")
        with Container(id="panes"):
            yield Pane("1 Holdings · core", holdings_table(), "pane-holdings")
            yield Pane("2 Hedge overlay", hedge_table(), "pane-hedge")
            yield Pane("3 Alpha engine", alpha_table(), "pane-alpha")
            yield Pane("4 Basis ticker", basis_table(), "pane-basis")
        yield Input(id="cell-editor", select_on_focus=True)
        yield Static("", id="status")
        yield Footer()


class SymbiosisApp(RiskTools, App[int]):
    """Keyboard what-if risk view over a portfolio and a market feed."""

    CSS_PATH = "app.tcss"
    TITLE = "Symbiosis"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("1", "focus_pane('holdings-table')", "Holdings", show=False),
        Binding("2", "focus_pane('hedge-table')", "Hedges", show=False),
        Binding("3", "focus_pane('alpha-table')", "Alpha", show=False),
        Binding("4", "focus_pane('basis-table')", "Basis", show=False),
        Binding("left_square_bracket", "shock(-1)", "Shock −1%", show=False),
        Binding("right_square_bracket", "shock(1)", "Shock +1%", show=False),
        Binding("left_curly_bracket", "shock(-5)", "Shock −5%", show=False),
        Binding("right_curly_bracket", "shock(5)", "Shock +5%", show=False),
        Binding("0", "shock_reset", "Shock 0", show=False),
        Binding("u", "undo", "Undo"),
        Binding("ctrl+r", "redo", "Redo"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+o", "reload", "Reload", show=False),
        Binding("c", "edit_collateral", "Collateral", show=False),
        Binding("t", "next_theme", "Theme", show=False),
        Binding("w", "show_notes", "Notes", show=False),
        Binding("q,ctrl+q", "quit_app", "Quit"),
        *RISK_BINDINGS,
    ]

    def __init__(
        self,
        config: AppConfig,
        loaded: LoadedPortfolio,
        market: MarketState,
        feed: FeedRunner | None = None,
        notice: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.wall_clock = wall_clock
        self.config = config
        self.settings = config.settings
        self.draft = Draft(loaded)
        self.market = market
        self.feed = feed
        self.notice = notice
        self.shock_pct = 0.0
        self.engine = RiskEngine()
        self.report: Report | None = None
        self.saved_report: Report | None = None
        self.edit: EditContext | None = None
        self._pending_market: MarketState | None = None
        self._pending_since = 0.0
        self._tick_timer: Any = None
        self._last_tick_wall = wall_clock()
        self.theme_names: list[str] = []
        self.recompute_count = 0
        # (positions tuple, hedge count, alpha count) for the pane titles.
        self._book_sizes: tuple[object, int, int] = ((), 0, 0)

    # -- lifecycle ----------------------------------------------------------

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
            self.theme_names.append(theme.name)
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        elif self.theme_names:
            self.theme = self.theme_names[0]
        self.push_screen(MainScreen())

    def _main_ready(self) -> bool:
        return isinstance(self.screen, MainScreen) or any(
            isinstance(s, MainScreen) for s in self.screen_stack
        )

    def _main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("main screen not mounted")

    def main_mounted(self) -> None:
        """First paint of the main screen: compute, focus, start the feed."""
        main = self._main()
        self._apply_layout(self.size.width)
        self.recompute(market_changed=True)
        main.query_one("#holdings-table", BookTable).focus()
        # What startup built (widgets, styles, the book, imported modules) lives as long
        # as the app: out of the collector's full passes, which otherwise scan it all and
        # stall a frame for tens of milliseconds.
        self.call_after_refresh(gc.freeze)
        if self.notice:
            self.say(self.notice, "warning")
        self.set_interval(1.0, self._tick_clock)
        if self.feed is not None:
            self.run_feed()

    def on_resize(self, event: Any) -> None:
        if self._main_ready():
            self._apply_layout(event.size.width)

    def _apply_layout(self, width: int) -> None:
        self._main().set_class(width < NARROW_WIDTH, "-narrow")

    # -- feed ---------------------------------------------------------------

    @work(exclusive=True, group="feed")
    async def run_feed(self) -> None:
        assert self.feed is not None
        await self.feed(self.market_update, self.say)

    def market_update(self, market: MarketState) -> None:
        """Called by the feed for every tick; a burst becomes one recompute."""
        first = self._pending_market is None
        self._pending_market = market
        self.risk_record(market)
        if first:
            self._pending_since = time.monotonic()
            self._tick_timer = self.set_timer(COALESCE_S, self._apply_pending_market)

    def _postpone_tick(self) -> None:
        """Let a keystroke's frame go out before a waiting tick's repaint (within a bound)."""
        timer = self._tick_timer
        if self._pending_market is None or timer is None:
            return
        if time.monotonic() - self._pending_since < MAX_TICK_DELAY_S:
            timer.stop()
            self._tick_timer = self.set_timer(COALESCE_S, self._apply_pending_market)

    def _apply_pending_market(self) -> None:
        self._tick_timer = None
        market, self._pending_market = self._pending_market, None
        if market is None:
            return
        self.market = market
        self._last_tick_wall = self.wall_clock()
        self.recompute(market_changed=True)

    def _tick_clock(self) -> None:
        if self.report is not None and self._main_ready():
            try:
                self._show_summary()
            except NoMatches:  # the screen is being torn down
                pass

    # -- computing and painting ------------------------------------------------

    def feed_view(self) -> FeedView:
        m = self.market
        clock = (
            datetime.fromtimestamp(m.clock_ms / 1000, tz=UTC).strftime("%H:%M:%S UTC")
            if m.clock_ms
            else "--:--:--"
        )
        if m.status == "live":
            age = self.wall_clock() * 1000 - m.clock_ms if m.clock_ms else None
        else:
            age = (self.wall_clock() - self._last_tick_wall) * 1000
        return FeedView(m.status, age, clock, escape(m.note))

    def recompute(self, market_changed: bool = False) -> None:
        """compute() the draft (and the saved book when the market moved), then paint."""
        if not market_changed:
            self._postpone_tick()
        try:
            report = self.engine.compute(
                self.draft.current, self.market, self.shock_pct, self.settings
            )
        except UnsupportedContractError as exc:
            self.say(str(exc), "error")
            return
        if market_changed:
            # The saved book's figures are only shown while the draft differs from it:
            # computed on demand by _show_summary, not on every feed tick.
            self.saved_report = None
        self.report = report
        self.recompute_count += 1
        self._paint()
        self.risk_after_compute()

    def _paint(self) -> None:
        """Show self.report: the summary and every pane whose rows changed."""
        for pane in PANES:
            self._paint_pane(pane)
        self._show_summary()

    def _paint_pane(self, pane: str) -> None:
        """Show self.report in one pane (its table and title); unchanged rows stay."""
        report = self.report
        assert report is not None
        main = self._main()
        edited, _ = self.draft.edited_keys()
        table = main.query_one(f"#{pane}-table", BookTable)
        shown = table.source
        # A table whose rows would read the same is left alone: a repaint of a pane
        # costs a few milliseconds, and a shock or an edit leaves most panes as they are.
        if pane == "holdings":
            if not (
                isinstance(shown, HoldingsSource)
                and shown.edited == edited
                and shown.report.same_spot_rows(report)
            ):
                table.set_source(HoldingsSource(report, edited))
        elif pane == "basis":
            if not (
                isinstance(shown, BasisSource)
                and shown.clock_ms == self.market.clock_ms
                and shown.rows is report.basis_rows
            ):
                table.set_source(BasisSource(report, self.market.clock_ms))
        else:
            liquidated = report.liquidated_in_scenario
            if not (
                isinstance(shown, PositionSource)
                and shown.shows_the_same_rows(report, table.columns, table.sort)
            ):
                table.set_source(
                    PositionSource(report, pane, table.columns, edited, liquidated, table.sort)
                )
            elif shown.edited != edited or shown.liquidated != liquidated:
                # Same figures, other highlights: repaint only the rows that changed tone.
                table.set_source(
                    shown.with_highlights(edited, liquidated),
                    changed=(shown.edited ^ edited) | (shown.liquidated ^ liquidated),
                )
        self._update_pane_title(pane)

    def _show_summary(self) -> None:
        assert self.report is not None
        _, dirty = self.draft.edited_keys()
        saved = self._saved_report() if dirty else None
        # Shock figures compare against the unshocked draft, so show the draft diff only.
        self._main().query_one(SummaryBar).show(self.report, saved, self.feed_view(), dirty)

    def _saved_report(self) -> Report | None:
        """The saved book's report on the current market (computed once per market)."""
        if self.saved_report is None:
            try:
                self.saved_report = self.engine.compute(
                    self.draft.saved, self.market, 0.0, self.settings
                )
            except UnsupportedContractError:
                return None
        return self.saved_report

    def _update_pane_title(self, pane: str) -> None:
        report = self.report
        assert report is not None
        if pane == "holdings":
            subtitle = (
                f"{_count(len(self.draft.current.holdings), 'asset')} · "
                f"spot {report.totals.spot_value_usd:,.0f} $"
            )
        elif pane == "basis":
            subtitle = f"{self.market.exchange or 'market'} · {self.market.status}"
        else:
            positions = self.draft.current.positions
            if self._book_sizes[0] is not positions:
                hedges = sum(p.book == "hedge" for p in positions)
                self._book_sizes = (positions, hedges, len(positions) - hedges)
            # Liquidations under a shock are marked on their rows and counted in the
            # summary: a title that changed with every shock step would repaint its pane.
            subtitle = _count(self._book_sizes[1 if pane == "hedge" else 2], "position")
        widget = self._main().query_one(f"#pane-{pane}")
        # Setting a border title repaints the whole pane, even to the same text.
        if getattr(widget, "_shown_subtitle", None) != subtitle:
            widget.border_subtitle = subtitle
            widget._shown_subtitle = subtitle  # type: ignore[attr-defined]

    def say(self, message: str, severity: str = "information") -> None:
        """One status line under the panes (errors stay until the next message)."""
        try:
            status = self._main().query_one("#status", Static)
        except (LookupError, NoMatches):  # not mounted yet, or shutting down
            return
        status.set_classes(f"-{severity}")
        status.update(escape(message))

    # -- draft changes ----------------------------------------------------------

    def apply(self, change: Callable[[Portfolio], Portfolio], done: str = "") -> bool:
        """Apply a draft change; an EditError keeps the old value and says why."""
        try:
            new = change(self.draft.current)
        except edits.EditError as exc:
            self.say(str(exc) + " — old value kept", "error")
            return False
        self.draft.history.push(new)
        self.recompute()
        if done:
            self.say(done)
        return True

    def action_undo(self) -> None:
        if self.draft.history.undo():
            self.recompute()
            self.say("undone")
        else:
            self.say("nothing to undo")

    def action_redo(self) -> None:
        if self.draft.history.redo():
            self.recompute()
            self.say("redone")
        else:
            self.say("nothing to redo")

    def action_shock(self, step: float) -> None:
        self.shock_pct = max(self.shock_pct + step, -99.0)
        self.recompute()

    def action_shock_reset(self) -> None:
        self.shock_pct = 0.0
        self.recompute()

    def action_focus_pane(self, table_id: str) -> None:
        self._main().query_one(f"#{table_id}", BookTable).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_show_notes(self) -> None:
        """The engine's notes: assumed betas, default maintenance rates, missing prices."""
        report = self.report
        notes = list(report.warnings) if report else []
        if self.market.note:
            notes.append(f"market data: {self.market.note}")
        body = "\n".join(f"• {escape(n)}" for n in notes) or "No notes: every figure has its data."
        self.push_screen(TextScreen(f"[b]Notes on the figures[/]\n\n{body}"))

    def action_position_details(self) -> None:
        """Every figure of the position under the cursor."""
        table = self._focused_table()
        key = table.current_key if table else None
        if table is None or key is None or table.id not in ("hedge-table", "alpha-table"):
            self.say("details: put the cursor on a hedge or alpha position")
            return
        self.push_screen(TextScreen(position_details(self.report.position(key))))

    def action_sort_rows(self) -> None:
        """Sort a position table by the column under the cursor; again flips the order."""
        table = self._focused_table()
        if table is None or table.id not in ("hedge-table", "alpha-table"):
            return
        column = table.current_column
        key = table.current_key
        if table.sort and table.sort[0] == column.key:
            table.sort = (column.key, not table.sort[1])
        else:
            # Risk columns read best worst-first: closest to liquidation, biggest loss.
            table.sort = (column.key, column.key not in ("dist", "upnl", "id", "symbol", "side"))
        self._paint()
        if key is not None:
            table.move_to_key(key)
        order = "descending" if table.sort[1] else "ascending"
        self.say(f"sorted by {column.label} ({order}); s again flips it")

    def action_next_theme(self) -> None:
        names = self.theme_names or [self.theme]
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.say(f"theme: {self.theme}")

    # -- editing ------------------------------------------------------------------

    @on(BookTable.CellActivated)
    def start_cell_edit(self, event: BookTable.CellActivated) -> None:
        table, column, key = event.table, event.column, event.row_key
        if table.id == "holdings-table":
            field_name = HOLDING_FIELDS.get(column.key)
            if field_name is None:
                self.say(f"{column.label} is computed; editable here: qty, cost")
                return
            holding = next(h for h in self.draft.current.holdings if h.asset == key)
            old = getattr(holding, field_name)
            self.open_editor(
                EditContext("holding", key, field_name, table=table),
                f"{key} {field_name}",
                "" if old is None else f"{old:g}",
            )
            return
        if table.id in ("hedge-table", "alpha-table"):
            field_name = POSITION_FIELDS.get(column.key)
            if field_name is None:
                self.say(
                    f"{column.label} is computed; editable: symbol side size entry lev mode "
                    "margin (and spot leg)"
                )
                return
            if field_name in TOGGLES:
                self.apply(
                    lambda p: whatif.toggle(p, self.market, key, field_name).portfolio,
                    f"{key}: {field_name} toggled",
                )
                return
            position = self.draft.current.position(key)
            old = getattr(position, field_name)
            shown = old if isinstance(old, str) else ("" if old is None else f"{old:g}")
            self.open_editor(
                EditContext("position", key, field_name, table=table), f"{key} {field_name}", shown
            )
            return
        self.say("the basis ticker is market data; nothing to edit")

    def _editor_region(self, context: EditContext) -> Region:
        """Where the in-place editor sits: over the cell, the next free row, or the summary."""
        table = context.table
        if context.kind in ("holding", "position") and table is not None:
            cell = table.cursor_region()
            wanted = 22 if context.field == "symbol" else 14
            return Region(cell.x, cell.y, max(cell.width, wanted), 1)
        if context.kind.startswith("add") and table is not None:
            return table.next_row_region()
        summary = self._main().query_one(SummaryBar).region
        return Region(summary.right - 32, summary.y, 30, 1)

    def open_editor(self, context: EditContext, what: str, value: str) -> None:
        """Open the one-line editor in place; the status line says what is edited."""
        self.edit = context
        editor = self._main().query_one("#cell-editor", Input)
        region = self._editor_region(context)
        editor.styles.offset = (region.x, region.y)
        editor.styles.width = region.width
        editor.value = value
        editor.add_class("-open")
        editor.focus()
        # Typing replaces the old value; arrows keep it for a small change.
        editor.action_select_all()
        self.say(
            f"Edit {what} — enter applies, esc cancels · numbers: 1.5  +20%  -10%  x1.2",
            "prompt",
        )

    def close_editor(self) -> None:
        self._main().query_one("#cell-editor", Input).remove_class("-open")
        context, self.edit = self.edit, None
        if context and context.table is not None:
            context.table.focus()

    @on(Input.Submitted, "#cell-editor")
    def submit_edit(self, event: Input.Submitted) -> None:
        context = self.edit
        if context is None:
            return
        text = event.value
        before = self.draft.current
        try:
            change = self._change_for(context, text)
            new = change(before)
        except edits.EditError as exc:
            self.say(f"✗ {exc} — old value kept; fix it or press esc", "error")
            return
        self.draft.history.push(new)
        self.close_editor()
        self.recompute()
        if context.kind == "add-position" and context.table is not None:
            added = {p.id for p in new.positions} - {p.id for p in before.positions}
            if added:
                context.table.move_to_key(added.pop())
        self.say(f"{context.key or context.kind} {context.field}: set to {text.strip()}".strip())

    def _change_for(self, context: EditContext, text: str) -> Callable[[Portfolio], Portfolio]:
        if context.kind in ("position", "holding"):
            return lambda p: whatif.edit(p, self.market, context.key, context.field, text).portfolio
        if context.kind == "collateral":
            return lambda p: (
                whatif.edit(p, self.market, "account", "collateral_usd", text).portfolio
            )
        if context.kind == "add-holding":
            parts = text.split()
            if not parts:
                raise edits.EditError("type an asset and a quantity, e.g. SOL 10")
            return lambda p: edits.add_holding(p, parts[0], parts[1] if len(parts) > 1 else "0")
        if context.kind == "add-position":
            return lambda p: whatif.add(p, self.market, context.book, text).portfolio
        raise edits.EditError(f"unknown edit {context.kind}")

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.edit is not None:
            event.stop()
            self.close_editor()
            self.say("edit cancelled")

    def _focused_table(self) -> BookTable | None:
        focused = self.focused
        return focused if isinstance(focused, BookTable) else None

    def action_add_row(self) -> None:
        table = self._focused_table()
        if table is None:
            return
        if table.id == "holdings-table":
            self.open_editor(EditContext("add-holding", table=table), "new holding (ASSET QTY)", "")
        elif table.id in ("hedge-table", "alpha-table"):
            book = "hedge" if table.id == "hedge-table" else "alpha"
            key = table.current_key
            symbol = self.draft.current.position(key).symbol if key else "BTC/USDT:USDT"
            side = "short" if book == "hedge" else "long"
            self.open_editor(
                EditContext("add-position", book=book, table=table),
                f"new {book} position ({whatif.ADD_SYNTAX})",
                f"{symbol} {side} ",
            )

    def action_delete_row(self) -> None:
        table = self._focused_table()
        key = table.current_key if table else None
        if table is None or key is None:
            return
        if table.id == "holdings-table":
            self.apply(lambda p: edits.delete_holding(p, key), f"{key} deleted (u undoes)")
        elif table.id in ("hedge-table", "alpha-table"):
            self.apply(
                lambda p: whatif.delete(p, self.market, key).portfolio, f"{key} deleted (u undoes)"
            )

    def action_move_row(self) -> None:
        table = self._focused_table()
        key = table.current_key if table else None
        if table is None or key is None or table.id not in ("hedge-table", "alpha-table"):
            return
        target = "alpha engine" if table.id == "hedge-table" else "hedge overlay"
        self.apply(lambda p: edits.move_position(p, key), f"{key} moved to the {target}")

    def action_edit_collateral(self) -> None:
        self.open_editor(
            EditContext("collateral", field="collateral_usd", table=self._focused_table()),
            "cross-margin wallet collateral_usd",
            f"{self.draft.current.collateral_usd:g}",
        )

    # -- saving and quitting -------------------------------------------------------

    def action_save(self) -> None:
        self._save(expected=self.draft.loaded.fingerprint)

    def _save(self, expected: str | None) -> bool:
        loaded = self.draft.loaded
        try:
            fingerprint = save_portfolio(self.draft.current, loaded.path, expected, loaded.extra)
        except SaveConflictError as exc:
            self.say(str(exc), "error")
            self.push_screen(
                ChoiceScreen(
                    "Save conflict",
                    f"{escape(str(loaded.path))} changed on disk since it was loaded.\n"
                    "Nothing was written.",
                    {
                        "o": "overwrite (disk version kept as .bak)",
                        "r": "reload from disk (drop draft)",
                    },
                ),
                self._resolve_conflict,
            )
            return False
        except OSError as exc:
            self.say(f"save failed: {exc} — nothing changed on disk", "error")
            return False
        self.draft.loaded = LoadedPortfolio(
            self.draft.current, loaded.path, fingerprint, loaded.extra
        )
        self.saved_report = None
        self.recompute(market_changed=True)
        self.say(f"saved {loaded.path.name} (previous kept as {loaded.path.name}.bak)", "success")
        return True

    def _resolve_conflict(self, choice: str | None) -> None:
        if choice == "o":
            self._save(expected=None)
        elif choice == "r":
            self._reload()
        else:
            self.say("save cancelled; the draft is kept")

    def action_reload(self) -> None:
        _, dirty = self.draft.edited_keys()
        if dirty:
            self.push_screen(
                ChoiceScreen(
                    "Reload from disk?",
                    f"The draft has {dirty} unsaved change(s); reloading drops them.",
                    {"r": "reload"},
                ),
                lambda choice: self._reload() if choice == "r" else None,
            )
        else:
            self._reload()

    def _reload(self) -> None:
        try:
            loaded = load_portfolio(self.draft.loaded.path)
        except Exception as exc:  # noqa: BLE001 - any load problem is reported, nothing changes
            self.say(f"reload failed: {exc}", "error")
            return
        self.draft = Draft(loaded)
        self.saved_report = None
        self.recompute(market_changed=True)
        self.say(f"reloaded {loaded.path.name}", "success")

    def action_quit_app(self) -> None:
        _, dirty = self.draft.edited_keys()
        if not dirty:
            self.exit(0)
            return
        self.push_screen(
            ChoiceScreen(
                "Unsaved changes",
                f"The draft has {dirty} change(s) not saved to "
                f"{escape(self.draft.loaded.path.name)}.",
                {"s": "save and quit", "d": "discard and quit"},
            ),
            self._resolve_quit,
        )

    def _resolve_quit(self, choice: str | None) -> None:
        if choice == "s":
            if self._save(expected=self.draft.loaded.fingerprint):
                self.exit(0)
        elif choice == "d":
            self.exit(0)

    # -- command palette ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Save portfolio", "Write portfolio.toml (atomic, keeps .bak)", self.action_save
        )
        yield SystemCommand("Undo", "Undo the last what-if edit", self.action_undo)
        yield SystemCommand("Redo", "Redo the last undone edit", self.action_redo)
        yield SystemCommand("Reload portfolio", "Read portfolio.toml from disk", self.action_reload)
        yield SystemCommand(
            "Import from exchanges",
            "Read balances and positions with read-only keys; shows the diff first",
            lambda: open_import_screen(self),
        )
        yield SystemCommand(
            "Shock +5%", "Move the market up 5% (BTC; others by beta)", lambda: self.action_shock(5)
        )
        yield SystemCommand("Shock −5%", "Move the market down 5%", lambda: self.action_shock(-5))
        yield SystemCommand("Reset shock", "Back to the current market", self.action_shock_reset)
        yield SystemCommand(
            "Edit collateral", "Cross-margin wallet balance", self.action_edit_collateral
        )
        for name in self.theme_names:
            yield SystemCommand(
                f"Theme: {name}",
                "Switch the colour theme",
                lambda name=name: setattr(self, "theme", name),
            )
        yield from self.risk_commands()
        yield SystemCommand("Help", "Every key", self.action_help)
        yield SystemCommand("Quit", "Quit (asks when edits are unsaved)", self.action_quit_app)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def position_details(p: Any) -> str:
    """Markup of one PositionRow: sizes, margin, tier and liquidation."""
    rows = [
        ("book / kind", f"{p.book} / {p.kind}"),
        ("contract", f"{p.symbol} ({p.margin_mode}, {p.leverage:g}x)"),
        ("side, size", f"{p.side} {fmt.qty(p.size)}"),
        (
            "entry → mark",
            f"{fmt.price(p.entry_price)} → {fmt.price(p.mark_price)}"
            + (" (stale)" if p.stale else ""),
        ),
        ("notional", f"{fmt.usd_cents(p.notional_usd)} $"),
        ("unrealized PnL", f"{fmt.usd_cents(p.unrealized_pnl_usd, signed=True)} $"),
        ("margin (wallet)", f"{fmt.usd_cents(p.margin_usd)} $"),
        ("initial margin", f"{fmt.usd_cents(p.initial_margin_usd)} $"),
        (
            "maintenance margin",
            f"{fmt.usd_cents(p.maintenance_margin_usd)} $ at rate "
            f"{fmt.pct(p.maintenance_margin_rate * 100, 3)}" + f" (tiers: {p.tier_source})",
        ),
        ("liquidation price", fmt.price(p.liquidation_price)),
        ("distance to liq.", fmt.pct(p.distance_to_liquidation_pct, 2)),
        (
            "funding / period",
            f"{fmt.usd_cents(p.funding_usd_per_period, signed=True)} $ "
            f"(rate {fmt.pct(None if p.funding_rate is None else p.funding_rate * 100, 4)})",
        ),
        ("carry (annualized)", fmt.pct(p.carry_apr_pct, 2, signed=True)),
        ("hedge ratio of asset", fmt.ratio_pct(p.hedge_ratio, 1)),
    ]
    if p.kind == "basis":
        rows.append(
            ("spot leg", f"{fmt.qty(p.spot_qty)} {p.asset} = {fmt.usd_cents(p.spot_leg_usd)} $")
        )
    lines = [f"[b]{escape(p.id)}[/]", ""]
    lines += [f"  [b]{label:<22}[/] {escape(value)}" for label, value in rows]
    return "\n".join(lines)


def run_app(session: Any, replay_given: bool = False) -> int:
    """Start the TUI for a CLI session (config, portfolio, replay fallback)."""
    market, feed, notice = initial_market_and_feed(session, replay_given)
    app = SymbiosisApp(session.config, session.loaded, market, feed, notice)
    result = app.run()
    return int(result or 0)
