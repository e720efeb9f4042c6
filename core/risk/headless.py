"""The risk tools' keys of `symbiosis report --json`: stress, suggestion, alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.engine import RiskEngine
from core.model import MarketState, Portfolio, Settings
from core.report import Report
from core.risk.alerts import current_alerts
from core.risk.history import ContractHistory, history_from_replay
from core.risk.settings import RiskSettings
from core.risk.stress import parse_range, stress_grid
from core.risk.suggest import parse_target, suggest_hedge


def risk_document(
    report: Report,
    portfolio: Portfolio,
    market: MarketState,
    settings: Settings,
    risk: RiskSettings,
    *,
    stress: str | None = None,
    suggest: str | None = None,
    replay: Path | None = None,
    history: ContractHistory | None = None,
) -> dict[str, Any]:
    """`alerts` always; `stress` and `suggestion` when asked. Raises RiskInputError.

    Funding flips compare with the replay's history: `history` when the caller
    filled it while folding the replay, else read from `replay`.
    """
    shocks = parse_range(stress) if stress is not None else None
    target = parse_target(suggest) if suggest is not None else None
    doc: dict[str, Any] = {}
    engine = RiskEngine()  # one engine for every step and the suggestion
    if shocks is not None:
        grid = stress_grid(portfolio, market, shocks, settings, engine)
        doc["stress"] = [s.to_json() for s in grid.steps]
    if target is not None:
        asset, ratio = target
        suggestion = suggest_hedge(portfolio, market, asset, ratio, settings, engine)
        doc["suggestion"] = suggestion.to_json()
    # Alerts are on current prices, whatever --shock says (the report carries both).
    if history is None and replay is not None:
        history = history_from_replay(replay)
    previous = history.previous_funding() if history is not None else None
    doc["alerts"] = [
        a.to_json() for a in current_alerts(report, portfolio, market, risk.alerts, previous)
    ]
    return doc
