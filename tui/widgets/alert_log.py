"""Alert log screen: every alert announced, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Static

from core.risk.alerts import Alert
from tui.widgets.risk_screen import RiskScreen


@dataclass(frozen=True)
class LoggedAlert:
    clock_ms: int
    alert: Alert


def clock_text(ms: int) -> str:
    if not ms:
        return "--:--:--"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%m-%d %H:%M:%S")


class AlertLogScreen(RiskScreen):
    def __init__(self, entries: Sequence[LoggedAlert]) -> None:
        super().__init__()
        self.entries = list(entries)

    def compose(self) -> ComposeResult:
        yield Static(f"Alert log · {len(self.entries)} (market clock, UTC)", classes="risk-title")
        if self.entries:
            yield DataTable(id="alert-table", cursor_type="row", zebra_stripes=True)
        else:
            yield Static("No alert since the app started.", id="alert-empty")
        yield Footer()

    def on_mount(self) -> None:
        if not self.entries:
            return
        table = self.query_one(DataTable)
        table.add_columns("time", "kind", "target", "message")
        for entry in reversed(self.entries):
            a = entry.alert
            table.add_row(
                clock_text(entry.clock_ms),
                Text(a.kind, style="bold red" if a.urgent else "bold yellow"),
                Text(a.target),
                Text(a.message),
            )
        table.focus()
