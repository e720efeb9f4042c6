"""The Symbiosis Textual app: config, themes, the feed worker, global keys, the
palette, save and quit. The main screen paints; core computes."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

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
from tui.bindings import GLOBAL_BINDINGS, keymap_problems
from tui.feed_runner import FeedRunner, initial_market_and_feed
from tui.import_screen import open_import_screen
from tui.keys import OrderedKeys
from tui.main_screen import MainScreen
from tui.screens import ChoiceScreen, HelpScreen, TextScreen, help_markup
from tui.state import remembered_theme, save_state, state_path
from tui.text import escape
from tui.themes import ANSI_THEMES, load_themes
from tui.ticks import COALESCE_S, TickCoalescer
from tui.widgets.book_table import BookTable
from tui.widgets.panes import HoldingsTable, PaneView, PositionTable
from tui.widgets.risk_tools import RISK_BINDINGS, RiskTools
from tui.widgets.summary import FeedView

__all__ = ["COALESCE_S", "SymbiosisApp", "run_app"]


def binding_chains() -> list[list[Binding]]:
    """The bindings active together (app + focused table): the keymap is checked
    per chain, and the help lists them all."""
    tables: list[list[Any]] = [
        list(BookTable.BINDINGS),
        [*BookTable.BINDINGS, *HoldingsTable.BINDINGS],
        [*BookTable.BINDINGS, *PositionTable.BINDINGS],
    ]
    return [[*GLOBAL_BINDINGS, *RISK_BINDINGS, *table] for table in tables]


class SymbiosisApp(RiskTools, App[int]):
    """Keyboard what-if risk view over a portfolio and a market feed."""

    CSS_PATH = "app.tcss"
    TITLE = "Symbiosis"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [*GLOBAL_BINDINGS, *RISK_BINDINGS]

    def __init__(
        self,
        config: AppConfig,
        loaded: LoadedPortfolio,
        market: MarketState,
        feed: FeedRunner | None = None,
        notice: str | None = None,
        wall_clock: Callable[[], float] = time.time,
        state_file: Path | None = None,
    ) -> None:
        super().__init__()
        self.wall_clock = wall_clock
        self.config = config
        self.settings = config.settings
        self.draft = Draft(loaded)
        self.market = market
        self.feed = feed
        self.notices = [notice] if notice else []
        self.state_file = state_file or state_path()
        self.shock_pct = 0.0
        self.engine = RiskEngine()
        self.report: Report | None = None
        self.saved_report: Report | None = None
        self.theme_names: list[str] = []
        self.recompute_count = 0
        self.keys = OrderedKeys(self)
        self.ticks: TickCoalescer[MarketState] = TickCoalescer(self.set_timer, self._apply_market)
        self._last_tick_wall = wall_clock()
        self.main = MainScreen()
        self.notices += keymap_problems(config.keys, binding_chains())
        self.set_keymap(dict(config.keys))

    # -- lifecycle ----------------------------------------------------------

    def on_mount(self) -> None:
        themes, notes = load_themes()
        self.notices += notes
        for theme in themes:
            self.register_theme(theme)
            self.theme_names.append(theme.name)
        self.theme_names += [name for name in ANSI_THEMES if name in self.available_themes]
        wanted = remembered_theme(self.state_file, self.config.theme) or self.config.theme
        if wanted in self.available_themes:
            self.theme = wanted
        elif self.theme_names:
            if self.config.theme not in self.available_themes:
                self.notices.append(f"theme {self.config.theme!r} not found; using another")
            self.theme = self.theme_names[0]
        self.push_screen(self.main)

    def main_mounted(self) -> None:
        """First paint of the main screen: compute, focus, start the feed."""
        self.recompute(market_changed=True)
        self.main.focus_pane("holdings")
        # What startup built (widgets, styles, the book, imported modules) lives as long
        # as the app: out of the collector's full passes, which otherwise scan it all and
        # stall a frame for tens of milliseconds.
        self.call_after_refresh(gc.freeze)
        if self.notices:
            self.say(" · ".join(self.notices), "warning")
        self.set_interval(1.0, self._tick_clock)
        if self.feed is not None:
            self.run_feed()

    async def on_event(self, event: events.Event) -> None:
        # Keys go one at a time (see tui.keys): a burst never overtakes its Enter.
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self.keys.hold(event):
                return
            await super().on_event(event)
            self.keys.handled()
            return
        await super().on_event(event)

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: DOMNode) -> None:
        ids = ", ".join(sorted(b.id or b.action for b in clashed_bindings))
        self.say(f"[keys] these bindings share a key: {ids}", "warning")

    # -- feed ---------------------------------------------------------------

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def run_feed(self) -> None:
        assert self.feed is not None
        await self.feed(self.market_update, self.say)

    @on(Worker.StateChanged)
    def feed_stopped(self, event: Worker.StateChanged) -> None:
        """A feed that fails is a message and an offline market, never a crash."""
        worker = event.worker
        if worker.group != "feed" or event.state != WorkerState.ERROR:
            return
        error = worker.error
        text = " ".join(str(error).split())[:160] or type(error).__name__
        self.market = replace(self.market, status="offline", note=f"feed stopped: {text}")
        self.say(f"feed stopped: {text} — figures stay at the last prices", "error")
        self.recompute(market_changed=True)

    def market_update(self, market: MarketState) -> None:
        """Called by the feed for every tick; a burst becomes one recompute."""
        self.risk_record(market)
        self.ticks.offer(market)

    def _apply_market(self, market: MarketState) -> None:
        self.market = market
        self._last_tick_wall = self.wall_clock()
        self.recompute(market_changed=True)

    def _tick_clock(self) -> None:
        if self.report is not None and self.main.is_mounted:
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
        """compute() the draft, then paint (the saved book is computed on demand)."""
        if not market_changed:
            self.ticks.postpone()
        try:
            report = self.engine.compute(
                self.draft.current, self.market, self.shock_pct, self.settings
            )
        except UnsupportedContractError as exc:
            self.say(str(exc), "error")
            return
        if market_changed:
            self.saved_report = None
        self.report = report
        self.recompute_count += 1
        self.paint()
        self.risk_after_compute()

    def paint(self) -> None:
        assert self.report is not None
        edited, dirty = self.draft.edited_keys()
        view = PaneView(self.report, self.draft.current, self.market, edited, self.shock_pct)
        saved = self._saved_report() if dirty else None
        self.main.paint(view, saved, self.feed_view(), dirty)

    def _show_summary(self) -> None:
        assert self.report is not None
        _, dirty = self.draft.edited_keys()
        saved = self._saved_report() if dirty else None
        self.main.show_summary(self.report, saved, self.feed_view(), dirty)

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

    def say(self, message: str, severity: str = "information") -> None:
        if not self.main.say(message, severity):
            self.notices.append(message)  # shown when the main screen comes up

    # -- draft changes ----------------------------------------------------------

    def apply(self, change: Callable[[Portfolio], whatif.Outcome], suffix: str = "") -> bool:
        """Apply a what-if edit; a refused one keeps the old draft and says why.
        The status line shows the edit's effect in words."""
        try:
            outcome = change(self.draft.current)
        except edits.EditError as exc:
            self.say(f"✗ {exc} — old value kept", "error")
            return False
        self.draft.history.push(outcome.portfolio)
        self.recompute()
        self.say(outcome.effect + suffix)
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

    def action_focus_pane(self, book: str) -> None:
        self.main.focus_pane(book)

    def action_edit_collateral(self) -> None:
        self.main.edit_collateral()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_markup(binding_chains(), self.config.keys)))

    def action_show_notes(self) -> None:
        """The engine's notes: assumed betas, default maintenance rates, missing prices."""
        report = self.report
        notes = list(report.warnings) if report else []
        if self.market.note:
            notes.append(f"market data: {self.market.note}")
        body = "\n".join(f"• {escape(n)}" for n in notes) or "No notes: every figure has its data."
        self.push_screen(TextScreen(f"[b]Notes on the figures[/]\n\n{body}"))

    def action_next_theme(self) -> None:
        names = self.theme_names or [self.theme]
        index = names.index(self.theme) if self.theme in names else -1
        self.set_theme(names[(index + 1) % len(names)])

    def set_theme(self, name: str) -> None:
        """Switch theme and remember it for the next run."""
        self.theme = name
        problem = save_state(self.state_file, {"theme": name, "config_theme": self.config.theme})
        self.say(problem or f"theme: {name}", "warning" if problem else "information")

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
                lambda name=name: self.set_theme(name),
            )
        yield from self.risk_commands()
        yield SystemCommand("Help", "Every key", self.action_help)
        yield SystemCommand("Quit", "Quit (asks when edits are unsaved)", self.action_quit_app)


def run_app(session: Any, replay_given: bool = False) -> int:
    """Start the TUI for a CLI session (config, portfolio, replay fallback)."""
    market, feed, notice = initial_market_and_feed(session, replay_given)
    app = SymbiosisApp(session.config, session.loaded, market, feed, notice)
    result = app.run()
    return int(result or 0)
