"""Carry board screen: per asset, spot and the term structure, net of fees."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Static

from core.model import split_venue
from core.risk.carry import CarryRow
from tui import format as fmt
from tui.widgets.risk_screen import RiskScreen

COLUMNS = ("asset", "spot", "contract", "days", "basis", "gross APR", "net APR", "b/e days", "")


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def carry_cells(rows: tuple[CarryRow, ...]) -> list[tuple[object, ...]]:
    """Table rows: each asset's legs under its name, then its single-leg trades."""
    out: list[tuple[object, ...]] = []
    for row in rows:
        first = True
        for leg in row.legs:
            flags = []
            if leg.best:
                flags.append("★ best")
            if leg.funding_eats_basis:
                flags.append("funding eats basis")
            if leg.stale:
                flags.append("stale")
            symbol, venue = split_venue(leg.symbol)
            contract = "perp" if leg.kind == "swap" else symbol.rsplit("-", 1)[-1]
            if venue:
                contract += f"@{venue}"
            out.append(
                (
                    Text(row.asset, style="bold") if first else "",
                    fmt.price(row.spot) if first else "",
                    contract,
                    _days(leg.days_to_expiry),
                    fmt.pct(leg.basis_pct, 3, signed=True),
                    fmt.pct(leg.gross_apr_pct, 2, signed=True),
                    Text(
                        fmt.pct(leg.net_apr_pct, 2, signed=True), style="bold" if leg.best else ""
                    ),
                    _days(leg.break_even_days) if leg.break_even_days is not None else "never",
                    Text(" · ".join(flags), style="bold red" if leg.funding_eats_basis else ""),
                )
            )
            first = False
        for single in row.single_legs:
            out.append(
                (
                    Text(row.asset, style="bold") if first else "",
                    "",
                    Text(single.position_id),
                    "",
                    "",
                    "",
                    "",
                    "",
                    Text(f"single leg: {single.reason}", style="bold red"),
                )
            )
            first = False
    return out


class CarryScreen(RiskScreen):
    def __init__(self, rows: tuple[CarryRow, ...], fees_text: str) -> None:
        super().__init__()
        self.rows = rows
        self.fees_text = fees_text

    def compose(self) -> ComposeResult:
        yield Static("Carry board · long spot / short futures", classes="risk-title")
        yield DataTable(id="carry-table", cursor_type="row", zebra_stripes=True)
        yield Static(self.fees_text, classes="risk-hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        for cells in carry_cells(self.rows):
            table.add_row(*cells)
        table.focus()
