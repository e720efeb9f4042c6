"""The risk tools in the app: keys, palette entries, alerts on every recompute and the
history of basis and funding. Mixed into SymbiosisApp so that app.py only registers
them; the figures come from core.risk."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from textual.app import SystemCommand
from textual.binding import Binding

from core.config import ConfigError
from core.edits import EditError
from core.ledger import LedgerError, funding_totals, ledger_path
from core.model import MarketState
from core.report import Report
from core.risk import RiskInputError
from core.risk.alerts import (
    Alert,
    AlertTracker,
    current_alerts,
    market_alerts,
    net_beta_alert,
    position_alerts,
)
from core.risk.carry import carry_board
from core.risk.export import export_report
from core.risk.funding_pnl import FundingBesidePnl, funding_beside_pnl
from core.risk.history import ContractHistory
from core.risk.settings import RiskSettings, load_risk_settings, thresholds_from
from core.risk.suggest import (
    HedgeSuggestion,
    apply_suggestion,
    parse_target,
    suggest_hedge,
    suggest_net_beta,
)
from tui.widgets.alert_log import AlertLogScreen, LoggedAlert
from tui.widgets.carry_screen import CarryScreen
from tui.widgets.export_screen import ExportScreen
from tui.widgets.hedge_screen import HedgeScreen
from tui.widgets.history_screen import HistoryScreen
from tui.widgets.stress_screen import StressScreen

ALERT_LOG_SIZE = 500
MAX_TOASTS = 3  # notifications per check; the rest are counted in one more

RISK_BINDINGS = [
    Binding(
        "x",
        "stress",
        "Stress",
        show=False,
        id="risk.stress",
        tooltip="stress grid: the scenario at every shock, with a chart",
    ),
    Binding(
        "H",
        "hedge",
        "Hedge",
        show=False,
        id="risk.hedge",
        tooltip="hedge suggestion (ASSET=RATIO or beta=NET); a applies",
    ),
    Binding(
        "b",
        "carry",
        "Carry",
        show=False,
        id="risk.carry",
        tooltip="carry board: funding and basis net of fees",
    ),
    Binding(
        "exclamation_mark",
        "alert_log",
        "Alerts",
        show=False,
        id="risk.alerts",
        tooltip="alert log (each crossing rings and notifies once)",
    ),
    Binding(
        "v",
        "history",
        "History",
        show=False,
        id="risk.history",
        tooltip="history: signed sparklines of basis and funding",
    ),
    Binding(
        "e",
        "export",
        "Export",
        show=False,
        id="risk.export",
        tooltip="export the report (.json, .csv, .parquet)",
    ),
]


@dataclass
class RiskState:
    settings: RiskSettings
    history: ContractHistory = field(default_factory=ContractHistory)
    tracker: AlertTracker = field(default_factory=AlertTracker)
    log: deque[LoggedAlert] = field(default_factory=lambda: deque(maxlen=ALERT_LOG_SIZE))
    checked: tuple[object, object] | None = None  # (draft, market) last checked
    market_checked: tuple[object, tuple[Alert, ...]] | None = None  # (market, its alerts)
    check_pending: bool = False
    problem: str = ""  # why [alerts] / [fees] could not be read


class RiskTools:
    """Actions of the risk tools for SymbiosisApp (uses its draft, market, engine)."""

    # Provided by SymbiosisApp.
    config: Any
    settings: Any
    draft: Any
    market: MarketState
    engine: Any
    shock_pct: float
    report: Report | None

    _risk_state: RiskState | None = None

    @property
    def risk(self) -> RiskState:
        if self._risk_state is None:
            problem = ""
            try:
                settings = load_risk_settings(self.config.path)
            except ConfigError as exc:
                settings = RiskSettings(alerts=thresholds_from(self.settings))
                problem = str(exc)
            self._risk_state = RiskState(settings, problem=problem)
            self._risk_state.history.record(self.market)
        return self._risk_state

    # -- hooks called by the app ------------------------------------------------

    def risk_record(self, market: MarketState) -> None:
        """Every feed state goes into the history (cheap: a few floats per contract)."""
        self.risk.history.record(market)

    def risk_after_compute(self) -> None:
        """Check alerts once the frame of this recompute is out."""
        state = self.risk
        if state.problem:
            self.notify(state.problem, title="config", severity="error", markup=False)  # type: ignore[attr-defined]
            state.problem = ""
        if not state.check_pending:
            state.check_pending = True
            self.call_after_refresh(self.check_alerts)  # type: ignore[attr-defined]

    def check_alerts(self) -> list[Alert]:
        """Announce the alerts that are new since the last check (hysteresis)."""
        state = self.risk
        state.check_pending = False
        portfolio, market = self.draft.current, self.market
        if (
            state.checked is not None
            and state.checked[0] is portfolio
            and state.checked[1] is market
        ):
            return []  # a shock step: alerts use current prices, nothing changed
        state.checked = (portfolio, market)
        report = self.report
        if report is None:
            report = self.engine.compute(portfolio, market, 0.0, self.settings)
        thresholds = state.settings.alerts
        alerts = list(position_alerts(report, portfolio, market, thresholds))
        if state.market_checked is None or state.market_checked[0] is not market:
            # Basis, funding and staleness move with the market only: once per tick.
            found = market_alerts(report, market, thresholds, state.history.previous_funding())
            state.market_checked = (market, found)
        alerts.extend(state.market_checked[1])
        beta = net_beta_alert(report, state.settings.alerts.net_beta_band)
        if beta is not None:
            alerts.append(beta)
        fresh = state.tracker.update(alerts)
        for alert in fresh:
            state.log.append(LoggedAlert(market.clock_ms, alert))
        # A burst (a big book crossing a threshold at once) is a few toasts and a count,
        # not a screenful: the log has every one.
        for alert in fresh[:MAX_TOASTS]:
            self.notify(  # type: ignore[attr-defined]
                alert.message,
                title=alert.kind.replace("_", " "),
                severity="error" if alert.urgent else "warning",
                markup=False,
            )
        if len(fresh) > MAX_TOASTS:
            self.notify(  # type: ignore[attr-defined]
                f"{len(fresh) - MAX_TOASTS} more alerts: press ! for the log",
                title="alerts",
                severity="warning",
                markup=False,
            )
        if fresh:
            self.bell()  # type: ignore[attr-defined]
        return fresh

    # -- tools --------------------------------------------------------------------

    def stress_inputs(self) -> tuple[Any, MarketState, Any]:
        """What a stress grid is computed on: the draft, the market, the settings."""
        return (self.draft.current, self.market, self.settings)

    def suggest_hedge(self, text: str) -> HedgeSuggestion:
        """'BTC=0.8' (hedge ratio of an asset) or 'beta=0.2' (net beta of the book)."""
        name, sep, value = text.partition("=")
        if sep and name.strip().lower() == "beta":
            try:
                target = float(value)
            except ValueError:
                raise RiskInputError(f"beta={value.strip()}: NET must be a number") from None
            return suggest_net_beta(
                self.draft.current, self.market, target, self.settings, self.engine
            )
        asset, ratio = parse_target(text)
        return suggest_hedge(
            self.draft.current, self.market, asset, ratio, self.settings, self.engine
        )

    def apply_hedge(self, suggestion: HedgeSuggestion) -> bool:
        """Apply a suggestion to the draft (one undo step), as the typed edit would."""
        try:
            outcome = apply_suggestion(self.draft.current, self.market, suggestion)
        except EditError as exc:
            self.notify(f"{exc} — draft kept", severity="error", markup=False)  # type: ignore[attr-defined]
            return False
        return self.apply(lambda _: outcome)  # type: ignore[attr-defined]

    def export_to(self, path: str) -> bool:
        report = self.report
        if report is None or not path:
            return False
        state = self.risk
        alerts = current_alerts(
            report,
            self.draft.current,
            self.market,
            state.settings.alerts,
            state.history.previous_funding(),
        )
        document = {**report.to_json(), "alerts": [a.to_json() for a in alerts]}
        try:
            written = export_report(report, document, path)
        except RiskInputError as exc:
            self.notify(str(exc), title="export", severity="error", markup=False)  # type: ignore[attr-defined]
            return False
        self.notify(f"report written to {written}", title="export", markup=False)  # type: ignore[attr-defined]
        return True

    # -- actions ------------------------------------------------------------------

    def action_stress(self) -> None:
        self.push_screen(StressScreen())  # type: ignore[attr-defined]

    def action_hedge(self) -> None:
        report = self.report
        asset = "BTC"
        if report is not None:
            asset = next((a.asset for a in report.assets if a.hedge_ratio is not None), asset)
        self.push_screen(HedgeScreen(f"{asset}=1.0"))  # type: ignore[attr-defined]

    def action_carry(self) -> None:
        report = self.engine.compute(self.draft.current, self.market, 0.0, self.settings)
        risk = self.risk.settings
        rows = carry_board(report, self.draft.current, self.market, risk)
        fees = risk.fees_of(self.market.exchange)
        text = (
            f"net of {4 * fees.taker_pct:g} % round trip (4 taker fills of {fees.taker_pct:g} %"
            f", {self.market.exchange or 'default venue'}); perpetual fees spread over "
            f"{risk.carry_horizon_days:g} days · esc back"
        )
        self.push_screen(CarryScreen(rows, text))  # type: ignore[attr-defined]

    def action_alert_log(self) -> None:
        self.push_screen(AlertLogScreen(list(self.risk.log)))  # type: ignore[attr-defined]

    def action_history(self) -> None:
        rows: tuple[FundingBesidePnl, ...] = ()
        note = ""
        path = ledger_path()
        if path.exists():  # the ledger exists once an import has recorded funding
            try:
                totals = funding_totals(path)
            except LedgerError as exc:
                note = str(exc)
            else:
                report = self.engine.compute(self.draft.current, self.market, 0.0, self.settings)
                rows = funding_beside_pnl(report, self.draft.current, self.market, totals)
        self.push_screen(HistoryScreen(self.risk.history, rows, note))  # type: ignore[attr-defined]

    def action_export(self) -> None:
        self.push_screen(ExportScreen())  # type: ignore[attr-defined]

    def risk_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Stress grid", "The scenario from -50% to +50% (x)", self.action_stress)
        yield SystemCommand(
            "Hedge suggestion",
            "Size change to reach a hedge ratio or net beta (H)",
            self.action_hedge,
        )
        yield SystemCommand("Carry board", "Funding and basis net of fees (b)", self.action_carry)
        yield SystemCommand("Alert log", "Every alert so far (!)", self.action_alert_log)
        yield SystemCommand("History", "Basis and funding sparklines (v)", self.action_history)
        yield SystemCommand(
            "Export report…", "Write .json, .csv or .parquet (e)", self.action_export
        )
