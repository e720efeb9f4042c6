"""History screen: signed sparklines of basis and funding per contract."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import Footer, Static

from core.risk.history import ContractHistory
from tui import format as fmt
from tui.widgets.risk_screen import RiskScreen
from tui.widgets.signed_chart import SignedChart


def _range_text(values: list[float | None], scale: float, digits: int) -> str:
    finite = [v * scale for v in values if v is not None]
    if not finite:
        return "no data"
    return (
        f"now {fmt.pct(finite[-1], digits, signed=True)} · "
        f"min {fmt.pct(min(finite), digits, signed=True)} · "
        f"max {fmt.pct(max(finite), digits, signed=True)}"
    )


class HistoryScreen(RiskScreen):
    def __init__(self, history: ContractHistory) -> None:
        super().__init__()
        self.history = history

    def compose(self) -> ComposeResult:
        yield Static(
            f"History · last {self.history.points} per contract · above the middle: "
            "positive, below: negative",
            classes="risk-title",
        )
        with VerticalScroll(id="history-body"):
            symbols = self.history.symbols()
            if not symbols:
                yield Static("No contract quoted yet.")
            for symbol in symbols:
                basis = self.history.basis_pct(symbol)
                yield Static(
                    f"{escape(symbol)} basis · {len(basis)} pts · {_range_text(basis, 1.0, 3)}",
                    classes="history-label",
                )
                yield SignedChart(basis, bar_width=1, classes="history-chart")
                funding = self.history.funding_rates(symbol)
                if any(r is not None for r in funding):
                    yield Static(
                        f"{escape(symbol)} funding rate · {_range_text(funding, 100.0, 4)}",
                        classes="history-label",
                    )
                    yield SignedChart(funding, bar_width=1, classes="history-chart")
        yield Footer()
