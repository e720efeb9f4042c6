"""Hedge suggestion screen: type ASSET=RATIO (or beta=NET), read the change, `a` applies
it to the draft through the same edit path as a typed edit."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import Footer, Input, Static

from core.risk.suggest import HedgeSuggestion
from tui import format as fmt
from tui.widgets.risk_screen import RiskScreen


class HedgeResult(Static, can_focus=True):
    BINDINGS = [Binding("a", "screen.apply", "Apply to draft")]


def suggestion_markup(s: HedgeSuggestion) -> str:
    verb = "open" if s.position_id is None else ("add to" if s.size_change >= 0 else "reduce")
    target = s.position_id or "a new hedge"
    margin_word = "needs" if s.margin_usd >= 0 else "frees"
    lines = [
        f"[b]{escape(s.asset)}[/]: {verb} {escape(target)} on [b]{escape(s.symbol)}[/]",
        "",
        f"  side, size change   {s.side} {s.size_change:+.6g} (size after {s.new_size:.6g})",
        f"  hedge ratio after   {fmt.ratio_pct(s.hedge_ratio_after, 1)}",
        f"  net beta after      {'—' if s.net_beta_after is None else f'{s.net_beta_after:+.3f}'}",
        f"  margin              {margin_word} {fmt.usd_cents(abs(s.margin_usd))} $ at "
        f"{s.leverage:g}x {s.margin_mode}",
        f"  wallet              {escape(s.wallet)}",
        f"  funding per day     {fmt.usd_cents(s.funding_usd_per_day, signed=True)} $ "
        "(+ receives, − pays, at the current rate)",
        f"  as an edit          {escape(s.apply)}",
    ]
    if s.note:
        lines += ["", f"[$warning]{escape(s.note)}[/]"]
    lines += ["", "[b]a[/] apply to the draft · [b]esc[/] back"]
    return "\n".join(lines)


class HedgeScreen(RiskScreen):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.suggestion: HedgeSuggestion | None = None

    def compose(self) -> ComposeResult:
        yield Static("Hedge suggestion", classes="risk-title")
        yield Static(
            "ASSET=RATIO (hedge ratio: BTC=0.8) or beta=NET (book net beta: beta=0.2)",
            classes="risk-hint",
        )
        yield Input(self.target, id="hedge-target", classes="risk-input")
        yield HedgeResult("", id="hedge-result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#hedge-target")
    def suggest(self, event: Input.Submitted) -> None:
        result = self.query_one(HedgeResult)
        try:
            self.suggestion = self.app.suggest_hedge(event.value)  # type: ignore[attr-defined]
        except ValueError as exc:
            self.suggestion = None
            result.update(f"[$error]{escape(str(exc))}[/]")
            return
        result.update(suggestion_markup(self.suggestion))
        result.focus()

    def action_apply(self) -> None:
        if self.suggestion is not None and self.app.apply_hedge(self.suggestion):  # type: ignore[attr-defined]
            self.dismiss()
