"""History screen: signed sparklines of basis and funding per contract."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from core.risk.funding_pnl import FundingBesidePnl
from core.risk.history import ContractHistory
from tui import format as fmt
from tui.widgets.risk_screen import RiskScreen
from tui.widgets.signed_chart import signed_rows


def _range_text(values: list[float | None], scale: float, digits: int) -> str:
    finite = [v * scale for v in values if v is not None]
    if not finite:
        return "no data"
    return (
        f"now {fmt.pct(finite[-1], digits, signed=True)} · "
        f"min {fmt.pct(min(finite), digits, signed=True)} · "
        f"max {fmt.pct(max(finite), digits, signed=True)}"
    )


def history_text(history: ContractHistory, width: int, positive: Style, negative: Style) -> Text:
    """Every contract's sparklines as one text (one widget, however many contracts):
    a label line, then two rows, above and below zero, of the last `width` points."""
    parts: list[Text] = []
    for symbol in history.symbols():
        series = [("basis", history.basis_pct(symbol), 1.0, 3)]
        funding = history.funding_rates(symbol)
        if any(r is not None for r in funding):
            series.append(("funding rate", funding, 100.0, 4))
        for name, values, scale, digits in series:
            parts.append(
                Text(f"{symbol} {name} · {_range_text(values, scale, digits)}", style="bold")
            )
            parts.extend(signed_rows(values[-width:], 1, 2, positive, negative))
    if not parts:
        return Text("No contract quoted yet.")
    return Text("\n").join(parts)


def ledger_text(rows: tuple[FundingBesidePnl, ...], note: str) -> str:
    """Realised funding beside price P&L, one line per contract of the book."""
    if note:
        return note
    lines = ["Funding received (+) / paid (−) from the ledger, beside price P&L (USD):"]
    for r in rows:
        ids = ", ".join(r.position_ids)
        lines.append(
            f"  {r.symbol} ({r.venue}) {ids}: price {fmt.usd_cents(r.price_pnl_usd, signed=True)}"
            f" · funding {fmt.usd_cents(r.funding_usd, signed=True)} ({r.payments} payments)"
            f" · together {fmt.usd_cents(r.price_pnl_usd + r.funding_usd, signed=True)}"
        )
    return "\n".join(lines)


class HistoryScreen(RiskScreen):
    COMPONENT_CLASSES = {"history--positive", "history--negative"}

    def __init__(
        self,
        history: ContractHistory,
        ledger: tuple[FundingBesidePnl, ...] = (),
        ledger_note: str = "",
    ) -> None:
        super().__init__()
        self.history = history
        self.ledger = ledger
        self.ledger_note = ledger_note

    def compose(self) -> ComposeResult:
        yield Static(
            f"History · last {self.history.points} per contract · above the middle: "
            "positive, below: negative",
            classes="risk-title",
        )
        with VerticalScroll(id="history-body"):
            if self.ledger or self.ledger_note:
                yield Static(Text(ledger_text(self.ledger, self.ledger_note)), id="history-ledger")
            yield Static("", id="history-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history-text", Static).update(
            history_text(
                self.history,
                max(self.app.size.width - 4, 10),
                self.get_component_rich_style("history--positive"),
                self.get_component_rich_style("history--negative"),
            )
        )
