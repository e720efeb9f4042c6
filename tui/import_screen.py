"""The in-app import: read the venues in a worker, show the diff, write on 'y'.

Opened from the command palette. It imports into the saved portfolio, so it refuses
while the draft has unsaved edits (they would conflict with the file it writes).
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from core.config import AppConfig, LoadedPortfolio, SaveConflictError, save_portfolio
from core.importer import SUPPORTED_VENUES, ImportFailure, ImportResult, run_import
from core.keys import redact, secret_values
from core.ledger import LedgerError, append_funding, ledger_path
from tui import import_cli

_SIGNS = {"+": "$success", "-": "$error", "~": "$warning"}


def escape(text: str) -> str:
    """Text shown literally in Textual markup: every '[' escaped.

    textual.markup.escape leaves the first '[' of '[[' alone, which then shows as
    '[\\[holdings]]': the diff's table names need every bracket escaped.
    """
    return text.replace("[", r"\[")


def result_markup(result: ImportResult, path: str) -> str:
    """The diff and notes as markup (every exchange text escaped)."""
    venues = escape(", ".join(a.venue for a in result.accounts))
    lines = [f"[b]Import from {venues}[/] (read-only keys)", ""]
    if result.diff:
        lines.append(f"Changes to {escape(path)}:")
        for line in result.diff:
            colour = _SIGNS.get(line[:1], "$text")
            lines.append(f"  [{colour}]{escape(line)}[/]")
    else:
        lines.append(f"{escape(path)} is up to date: nothing to change.")
    for note in result.plan.notes:
        lines.append(f"[dim]note: {escape(note)}[/]")
    lines.append(f"funding: {len(result.funding)} payments read")
    lines.append("")
    lines.append("[b]y[/] write   [b]esc[/] cancel" if result.diff else "[b]esc[/] close")
    return "\n".join(lines)


class ImportScreen(ModalScreen[bool]):
    """Dismisses with True when portfolio.toml was written."""

    CSS_PATH = "import_screen.tcss"
    BINDINGS = [
        Binding("y", "write", "Write"),
        Binding("escape,n", "dismiss(False)", "Cancel"),
    ]

    def __init__(self, config: AppConfig, loaded: LoadedPortfolio) -> None:
        super().__init__()
        self.config = config
        self.loaded = loaded
        self.result: ImportResult | None = None
        self.venues = tuple(v for v in config.feed.exchanges if v in SUPPORTED_VENUES)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="import-body"):
            yield Static(
                f"[b]Import from {escape(', '.join(self.venues))}[/]\n\n"
                "reading balances and positions (read-only keys)…",
                id="import-text",
            )

    def on_mount(self) -> None:
        if not self.venues:
            followed = escape(", ".join(self.config.feed.exchanges))
            self.show(
                f"[b]Import[/]\n\nNone of the followed venues ({followed}) can be imported "
                f"from (supported: {', '.join(SUPPORTED_VENUES)}).\n\n[b]esc[/] close"
            )
            return
        self.read_accounts()

    def show(self, markup: str) -> None:
        self.query_one("#import-text", Static).update(markup)

    @work(exclusive=True, exit_on_error=False)
    async def read_accounts(self) -> None:
        secrets = secret_values(self.venues)
        try:
            result = await run_import(
                self.loaded.portfolio,
                self.venues,
                self.config.feed.exchange,
                self.config.settings.stablecoins,
                import_cli.exchange_factory,
            )
        except ImportFailure as exc:
            self.show(
                f"[b $error]Import failed[/]\n\n{escape(redact(str(exc), secrets))}"
                "\n\nNothing was written.   [b]esc[/] close"
            )
            return
        except Exception as exc:  # noqa: BLE001 - the app never dies on an import
            reason = escape(redact(f"{type(exc).__name__}: {exc}", secrets))
            self.show(f"[b $error]Import failed[/]\n\n{reason}\n\nNothing was written.")
            return
        self.result = result
        self.show(result_markup(result, str(self.loaded.path)))

    def action_write(self) -> None:
        result = self.result
        if result is None or not result.diff:
            return
        loaded = self.loaded
        try:
            save_portfolio(result.plan.after, loaded.path, loaded.fingerprint, loaded.extra)
        except SaveConflictError as exc:
            self.show(f"[b $error]Not written[/]\n\n{escape(str(exc))}\n\n[b]esc[/] close")
            self.result = None
            return
        except OSError as exc:
            self.show(f"[b $error]Not written[/]\n\n{escape(str(exc))}\n\n[b]esc[/] close")
            self.result = None
            return
        try:
            append_funding(ledger_path(), result.funding)
        except (OSError, LedgerError) as exc:
            self.app.notify(f"funding ledger not written: {exc}", severity="warning")
        self.dismiss(True)


def open_import_screen(app: Any) -> None:
    """Push the import screen (refused while the draft has unsaved edits)."""
    _, dirty = app.draft.edited_keys()
    if dirty:
        app.say("save or reload the draft before importing (it has unsaved edits)", "warning")
        return

    def done(written: bool | None) -> None:
        if written:
            app.action_reload()
            app.say("imported from the exchanges; portfolio.toml written (.bak kept)", "success")

    app.push_screen(ImportScreen(app.config, app.draft.loaded), done)
