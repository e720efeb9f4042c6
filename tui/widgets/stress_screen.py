"""Stress grid screen: the scenario at every shock as a table and a signed chart."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import DataTable, Footer, Input, Static

from core.risk import RiskInputError
from core.risk.stress import DEFAULT_RANGE, StressGrid, parse_range, stress_grid
from tui import format as fmt
from tui.widgets.risk_screen import RiskScreen
from tui.widgets.signed_chart import SignedChart

COLUMNS = ("shock", "P&L", "equity", "margin", "health", "liquidated")


class StressScreen(RiskScreen):
    """Shocks FROM:TO:STEP (typed at the top); the app computes the grid."""

    BINDINGS = [Binding("r", "focus_range", "Range")]

    def __init__(self, range_text: str = DEFAULT_RANGE) -> None:
        super().__init__()
        self.range_text = range_text
        self.grid: StressGrid | None = None

    def compose(self) -> ComposeResult:
        yield Static("Stress grid · BTC moves by s, other assets by beta × s", classes="risk-title")
        yield Input(self.range_text, id="stress-range", classes="risk-input")
        yield DataTable(id="stress-table", cursor_type="row", zebra_stripes=True)
        yield SignedChart(id="stress-chart")
        yield Static("", id="stress-axis")
        yield Static("", id="stress-hint", classes="risk-hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.show(self.range_text)
        table.focus()

    def action_focus_range(self) -> None:
        self.query_one("#stress-range", Input).focus()

    @on(Input.Submitted, "#stress-range")
    def new_range(self, event: Input.Submitted) -> None:
        self.show(event.value)
        self.query_one(DataTable).focus()

    def show(self, text: str) -> None:
        hint = self.query_one("#stress-hint", Static)
        try:
            shocks = parse_range(text)
        except RiskInputError as exc:
            hint.update(f"[$error]{escape(str(exc).removeprefix('--stress'))}[/] — grid kept")
            return
        self.range_text = text
        hint.update(f"computing {len(shocks)} scenarios…")
        # A thread with its own engine: 21 computes of a big book must not hold the keys.
        inputs = self.app.stress_inputs()  # type: ignore[attr-defined]
        self.compute_grid(shocks, inputs)

    @work(thread=True, exclusive=True, group="stress")
    def compute_grid(self, shocks: tuple[float, ...], inputs: tuple) -> None:
        portfolio, market, settings = inputs
        grid = stress_grid(portfolio, market, shocks, settings)
        self.app.call_from_thread(self.fill, grid)

    def fill(self, grid: StressGrid) -> None:
        if not self.is_attached:  # closed while the grid was being computed
            return
        hint = self.query_one("#stress-hint", Static)
        self.grid = grid
        table = self.query_one(DataTable)
        table.clear()
        for step in grid.steps:
            liquidated = ", ".join(step.liquidated) or "—"
            if step.first_liquidation:
                liquidated = f"◀ first: {liquidated}"
            # A Text cell: ids are shown as written, never read as markup.
            cell = Text(liquidated, style="bold red" if step.liquidated else "")
            table.add_row(
                f"{step.shock_pct:+g}%",
                fmt.usd(step.pnl_usd, signed=True),
                fmt.usd(step.equity),
                fmt.ratio_pct(step.margin_ratio),
                step.health,
                cell,
                key=f"{step.shock_pct:g}",
            )
        last = len(grid.steps) - 1
        labels = [
            f"{s.shock_pct:+g}%"
            if i in (0, last) or s.shock_pct == 0 or s.first_liquidation
            else ""
            for i, s in enumerate(grid.steps)
        ]
        labels = [
            f"{label} liq" if label and s.first_liquidation else label
            for label, s in zip(labels, grid.steps, strict=True)
        ]
        self.query_one(SignedChart).set_values([s.pnl_usd for s in grid.steps], labels)
        first, last_shock = grid.steps[0].shock_pct, grid.steps[-1].shock_pct
        self.query_one("#stress-axis", Static).update(
            f"P&L by shock, {first:+g}% … {last_shock:+g}% (above the middle: gain, below: loss)"
        )
        hint.update(
            "first liquidation ↓ "
            + _first(grid.first_liquidation_down_pct, grid.liquidation_shock_down_pct)
            + " · ↑ "
            + _first(grid.first_liquidation_up_pct, grid.liquidation_shock_up_pct)
        )


def _first(in_grid: float | None, exact: float | None) -> str:
    """'-45% (exact -41.2%)': the grid's first liquidating step and the engine's shock."""
    step = "none in range" if in_grid is None else f"{in_grid:+g}%"
    if in_grid is None and exact is not None:
        step = "none"
    return step if exact is None else f"{step} (exact {exact:+.2f}%)"
