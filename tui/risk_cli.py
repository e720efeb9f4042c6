"""`symbiosis report` flags of the risk tools: --stress, --suggest-hedge, --out.

Kept beside tui/cli.py so that the report command only gains argument
definitions and one hook: the keys added to the JSON document.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.model import MarketState, Portfolio, Settings
from core.report import Report
from core.risk.export import export_format, export_report
from core.risk.history import ContractHistory
from core.risk.settings import RiskSettings, load_risk_settings
from core.risk.stress import DEFAULT_RANGE


def add_risk_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument(
        "--stress",
        nargs="?",
        const=DEFAULT_RANGE,
        default=None,
        metavar="FROM:TO:STEP",
        help=f"the scenario at every shock of a range in percent (bare: {DEFAULT_RANGE})",
    )
    report.add_argument(
        "--suggest-hedge",
        dest="suggest_hedge",
        metavar="ASSET=RATIO",
        help="the hedge change that brings ASSET's hedge ratio to RATIO (a fraction)",
    )
    report.add_argument(
        "--out", metavar="FILE", help="also write the report: .json, .csv or .parquet"
    )


def attach_negative_values(argv: list[str]) -> list[str]:
    """'--stress -50:50:5' -> '--stress=-50:50:5': argparse takes a value starting with
    '-' for an option, and a bare --stress (then another option) must stay bare."""
    args: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--stress" and i + 1 < len(argv):
            value = argv[i + 1]
            if value.startswith("-") and (value[1:2].isdigit() or value[1:2] == "."):
                args.append(f"{argv[i]}={value}")
                i += 2
                continue
        args.append(argv[i])
        i += 1
    return args


def check_risk_settings(config_path: Path) -> RiskSettings:
    """[alerts] and [fees] are read before any command starts (ConfigError if bad)."""
    return load_risk_settings(config_path)


def risk_keys(
    args: argparse.Namespace,
    risk: RiskSettings,
    report: Report,
    portfolio: Portfolio,
    market: MarketState,
    settings: Settings,
    history: ContractHistory | None,
) -> dict[str, Any]:
    """stress / suggestion / alerts for the JSON document (RiskInputError, ConfigError).

    `history` is the replay's, filled while it was folded (None on live data).
    """
    from core.risk.headless import risk_document

    if getattr(args, "out", None):
        export_format(args.out)  # a bad extension is refused before any work
    return risk_document(
        report,
        portfolio,
        market,
        settings,
        risk,
        stress=getattr(args, "stress", None),
        suggest=getattr(args, "suggest_hedge", None),
        history=history if market.status == "replay" else None,
    )


def write_out(args: argparse.Namespace, report: Report, document: dict[str, Any]) -> None:
    if getattr(args, "out", None):
        export_report(report, document, args.out)


def print_risk_tables(keys: dict[str, Any], console: Any = None) -> None:
    """Stress grid, suggestion and alerts for people (80 columns)."""
    from rich.console import Console
    from rich.markup import escape

    from tui.report_text import _money, _ratio_pct, _table

    console = console or Console()
    if "stress" in keys:
        grid = _table(
            "Stress grid (BTC move; others by beta)",
            ("shock", "PnL", "equity", "margin", "health", "liquidated"),
        )
        for step in keys["stress"]:
            mark = " ◀ first" if step["first_liquidation"] else ""
            grid.add_row(
                f"{step['shock_pct']:+g}%",
                _money(step["pnl_usd"]),
                _money(step["equity"]),
                _ratio_pct(step["margin_ratio"]),
                step["health"],
                escape(", ".join(step["liquidated"]) or "—") + mark,
            )
        console.print(grid)
    if "suggestion" in keys:
        s = keys["suggestion"]
        console.print(
            f"Hedge {escape(s['asset'])} → {_ratio_pct(s['hedge_ratio_after'])}: "
            f"{escape(s['symbol'])} {s['side']} {s['size_change']:+.6g} "
            f"(margin {_money(s['margin_usd'])} USD from the {escape(s['wallet'])}, "
            f"funding {_money(s['funding_usd_per_day'])} USD/day)\n"
            f"  apply: {escape(s['apply'])}"
            + (f"\n  [yellow]{escape(s['note'])}[/]" if s["note"] else "")
        )
    # Only what was crossed: with no alert the table report reads as it always did.
    for alert in keys.get("alerts", []):
        console.print(f"[red]alert:[/] {escape(alert['message'])}")
