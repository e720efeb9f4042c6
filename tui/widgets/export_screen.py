"""Export dialog: a file name whose extension picks the format."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Footer, Input, Static

from tui.widgets.risk_screen import RiskScreen

DEFAULT_NAME = "symbiosis-report.json"


class ExportScreen(RiskScreen):
    """Dismisses with the path typed ('' when cancelled)."""

    def compose(self) -> ComposeResult:
        yield Static("Export the report", classes="risk-title")
        yield Static(
            ".json: the whole report · .csv / .parquet: the positions table · enter writes",
            classes="risk-hint",
        )
        yield Input(DEFAULT_NAME, id="export-path", classes="risk-input")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#export-path")
    def write(self, event: Input.Submitted) -> None:
        if self.app.export_to(event.value.strip()):  # type: ignore[attr-defined]
            self.dismiss()
