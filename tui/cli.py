"""Command line: `symbiosis`, `symbiosis report`, `symbiosis record`, `symbiosis serve`.

Textual is imported only when the TUI starts, so `report` stays light.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import whatif
from core.config import AppConfig, ConfigError, LoadedPortfolio, load_config, load_portfolio
from core.edits import EditError
from core.engine import UnsupportedContractError, compute
from core.feeds.replay_file import ReplayError, load_replay_end
from core.model import MarketState, Portfolio
from core.report import Report
from tui.serve import add_serve_parser

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config.toml"
DEMO_REPLAY = PROJECT_ROOT / "data" / "demo.jsonl"


class UsageError(Exception):
    """A user-facing problem: printed as one line, exit code 2."""


@dataclass(frozen=True)
class Session:
    """What a command works on: config, portfolio and the replay to fall back to."""

    config: AppConfig
    loaded: LoadedPortfolio
    replay: Path | None


def resolve_config_path(path: str | None) -> Path:
    if path:
        return Path(path)
    local = Path("config.toml")
    return local if local.exists() else DEFAULT_CONFIG


def open_session(config: str | None, portfolio: str | None, replay: str | None) -> Session:
    """Load config and portfolio; raise UsageError with a clear message."""
    try:
        app_config = load_config(resolve_config_path(config))
        loaded = load_portfolio(Path(portfolio) if portfolio else app_config.portfolio_path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    replay_path = Path(replay) if replay else app_config.feed.replay
    if replay_path is None or (not replay and not replay_path.exists()):
        replay_path = DEMO_REPLAY
    return Session(app_config, loaded, replay_path)


def market_for_report(session: Session, replay_given: bool) -> tuple[MarketState, str | None]:
    """The market for a headless report, and a notice for stderr (or None)."""
    notice = None
    if session.config.feed.kind == "ccxt" and not replay_given:
        from core.feeds.snapshot import live_snapshot  # lazy: ccxt is heavy

        try:
            return live_snapshot(session.config, session.loaded.portfolio), None
        except Exception as exc:  # noqa: BLE001 - any network fault means offline
            reason = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
            notice = f"offline: {reason}; using replay {session.replay}"
    try:
        market = load_replay_end(session.replay)
    except ReplayError as exc:
        raise UsageError(str(exc)) from exc
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # An event whose data has the wrong shape deep inside: still the file's fault.
        raise UsageError(f"{session.replay}: malformed replay event ({exc})") from exc
    return market, notice


def _money(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.2f}"


def _pct(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}%"


def _ratio_pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _table(title: str, columns: Sequence[str], left: int = 1) -> Any:
    """A compact Rich table (no vertical rules) so the report fits 80 columns."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        title_justify="left",
    )
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < left else "right", no_wrap=True)
    return table


def _countdown(target_ms: int | None, clock_ms: int) -> str:
    if target_ms is None:
        return "—"
    minutes = max(target_ms - clock_ms, 0) // 60_000
    return f"{minutes // 60}h{minutes % 60:02d}"


def print_report_table(report: Report, console: Any = None) -> None:
    """The report as compact Rich tables, for people (readable at 80 columns)."""
    from rich.console import Console

    console = console or Console()
    t = report.totals
    summary = _table("Totals", ("figure", "value"))
    for label, value in (
        ("equity (USD)", _money(t.equity)),
        ("net exposure (USD)", f"{_money(t.net_exposure_usd)} ({_pct(t.net_exposure_pct)})"),
        ("beta-weighted exposure (USD)", _money(t.beta_weighted_exposure_usd)),
        ("gross exposure (USD)", _money(t.gross_exposure_usd)),
        ("margin ratio", f"{_ratio_pct(t.margin_ratio)} ({t.health})"),
        ("unrealized PnL (USD)", _money(t.unrealized_pnl_usd)),
        ("funding per period (USD, + = received)", _money(t.funding_usd_per_period)),
    ):
        summary.add_row(label, value)
    console.print(summary)

    assets = _table("Exposure by asset (USD)", ("asset", "spot", "futures", "net", "beta", "hedge"))
    for a in report.assets:
        assets.add_row(
            a.asset,
            _money(a.spot_usd),
            _money(a.futures_usd),
            _money(a.net_usd),
            f"{a.beta:.2f}" + ("*" if a.beta_assumed else ""),
            _ratio_pct(a.hedge_ratio),
        )
    console.print(assets)

    # Two tables, one row per position in each: all twelve columns at once need ~110 columns.
    positions = _table(
        "Positions", ("id", "book", "symbol", "side", "lev", "size", "entry", "mark"), left=4
    )
    risk = _table("Position risk (USD)", ("id", "notional", "uPnL", "liq. price", "to liq."))
    for p in report.positions:
        positions.add_row(
            p.id,
            p.book,
            p.symbol,
            p.side,
            f"{p.leverage:g}x",
            f"{p.size:g}",
            _money(p.entry_price),
            _money(p.mark_price),
        )
        risk.add_row(
            p.id,
            _money(p.notional_usd),
            _money(p.unrealized_pnl_usd),
            _money(p.liquidation_price),
            _pct(p.distance_to_liquidation_pct),
        )
    console.print(positions)
    console.print(risk)

    basis = _table("Basis", ("symbol", "spot", "futures", "basis", "basis %", "annual %", "stale"))
    funding = _table("Funding (perpetuals)", ("symbol", "rate %", "APR %", "next in"))
    for b in report.basis:
        basis.add_row(
            b.symbol,
            _money(b.spot),
            _money(b.futures),
            _money(b.basis),
            _pct(b.basis_pct, 3),
            _pct(b.annualized_pct),
            "stale" if b.stale else "",
        )
        if b.kind == "swap":
            funding.add_row(
                b.symbol,
                _pct(None if b.funding_rate is None else b.funding_rate * 100, 4),
                _pct(b.funding_apr_pct),
                _countdown(b.next_funding_ms, report.clock_ms),
            )
    console.print(basis)
    if funding.row_count:
        console.print(funding)

    alloc = _table("Allocation", ("bucket", "pct", "band", "in band"))
    for name, a in report.allocation.items():
        alloc.add_row(
            name, _pct(a.pct, 1), f"{a.band[0]:g}–{a.band[1]:g}%", "yes" if a.in_band else "NO"
        )
    console.print(alloc)

    s = report.scenario
    console.print(
        f"Scenario {s.shock_pct:+g}%: PnL {_money(s.pnl_usd)} USD, margin ratio "
        f"{_ratio_pct(s.margin_ratio)} ({s.health}), liquidated: "
        f"{', '.join(s.liquidated) if s.liquidated else 'none'}"
    )
    if any(a.beta_assumed for a in report.assets):
        console.print("* beta assumed (not in config)")
    for warning in report.warnings:
        console.print(f"[yellow]note:[/] {warning}")
    if report.note:
        console.print(f"[yellow]data:[/] {report.note}")


def apply_whatif(
    portfolio: Portfolio, market: MarketState, steps: Sequence[tuple[str, str]]
) -> tuple[Portfolio, list[dict[str, str]]]:
    """--edit / --add / --delete in the order given, with the app's rules (never saved)."""
    done: list[dict[str, str]] = []
    for flag, text in steps:
        try:
            if flag == "edit":
                outcome = whatif.edit(portfolio, market, *whatif.split_edit(text))
                shown = text.strip()
            elif flag == "add":
                book, rest = whatif.split_add(text)
                outcome = whatif.add(portfolio, market, book, rest)
                shown = f"add {text.strip()}"
            else:
                outcome = whatif.delete(portfolio, market, text.strip())
                shown = f"delete {text.strip()}"
        except EditError as exc:
            raise UsageError(f"--{flag} {text!r}: {exc}; no report") from exc
        portfolio = outcome.portfolio
        done.append({"edit": shown, "effect": outcome.effect})
    return portfolio, done


def run_report(args: argparse.Namespace) -> int:
    session = open_session(args.config, args.portfolio, args.replay)
    market, notice = market_for_report(session, replay_given=bool(args.replay))
    if notice:
        print(notice, file=sys.stderr)
    portfolio, done = apply_whatif(session.loaded.portfolio, market, args.whatif or ())
    try:
        report = compute(portfolio, market, args.shock, session.config.settings)
    except UnsupportedContractError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        doc = report.to_json()
        if args.whatif:
            doc["whatif"] = done
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_report_table(report)
    # Flush here so a closed pipe surfaces inside main's handler, not at exit.
    sys.stdout.flush()
    return 0


def run_record(args: argparse.Namespace) -> int:
    from core.feeds.recorder import record  # lazy: ccxt is heavy

    session = open_session(args.config, None, None)
    return record(session.config, session.loaded.portfolio, Path(args.out), args.seconds)


def run_tui(args: argparse.Namespace) -> int:
    session = open_session(args.config, args.portfolio, args.replay)
    from tui.app import run_app  # lazy: Textual only for the TUI

    try:
        return run_app(session, replay_given=bool(args.replay))
    except ReplayError as exc:
        raise UsageError(str(exc)) from exc


def run_serve(args: argparse.Namespace) -> int:
    from tui.serve import ServeUnavailable, serve_app

    # Bad input fails here, once, rather than in every browser session.
    session = open_session(args.config, args.portfolio, args.replay)
    try:
        return serve_app(build_parser(), args, session.replay)
    except (ServeUnavailable, ReplayError) as exc:
        raise UsageError(str(exc)) from exc


def _shock(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--shock must be a number of percent, not {text!r}"
        ) from exc
    if not math.isfinite(value) or value <= -100:
        raise argparse.ArgumentTypeError("--shock must be a finite percent above -100")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symbiosis", description=__doc__)
    parser.add_argument(
        "--config", help="config.toml (default: ./config.toml, else the bundled one)"
    )
    parser.add_argument("--portfolio", help="portfolio.toml (default: from the config)")
    parser.add_argument("--replay", metavar="FILE", help="run on a recording instead of live data")
    sub = parser.add_subparsers(dest="command")
    report = sub.add_parser("report", help="print the figures headless")
    report.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    report.add_argument("--portfolio", dest="portfolio", default=argparse.SUPPRESS)
    report.add_argument("--replay", metavar="FILE", dest="replay", default=argparse.SUPPRESS)
    report.add_argument(
        "--shock",
        type=_shock,
        default=0.0,
        metavar="PCT",
        help="what-if move of BTC in percent (others by beta)",
    )
    report.add_argument("--json", action="store_true", help="JSON for scripts")
    for flag, metavar, text in (
        ("--edit", '"TARGET FIELD VALUE"', "what-if edit, e.g. 'h-btc size +20%%'"),
        ("--add", '"BOOK SYMBOL SIDE SIZE [ENTRY] [LEVERAGE] [MODE]"', "what-if position"),
        ("--delete", "ID", "what-if close of a position"),
    ):
        report.add_argument(
            flag,
            dest="whatif",
            action=_InOrder,
            metavar=metavar,
            help=text + " (repeatable; applied in the order given, never saved)",
        )
    record = sub.add_parser("record", help="record the live feed to a replay file")
    record.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    record.add_argument("--out", required=True, metavar="FILE")
    record.add_argument("--seconds", type=float, default=None, metavar="N")
    add_serve_parser(sub)
    return parser


class _InOrder(argparse.Action):
    """Collects --edit / --add / --delete into one list, in the order given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        steps = list(getattr(namespace, self.dest, None) or [])
        steps.append(((option_string or "--edit").lstrip("-"), str(values)))
        setattr(namespace, self.dest, steps)


def _attach_shock_values(argv: Sequence[str]) -> list[str]:
    """'--shock -10%' -> '--shock=-10%': argparse takes '-10%' for an option otherwise."""
    args = list(argv)
    i = 0
    while i < len(args) - 1:
        if args[i] in _VALUE_FLAGS and args[i + 1].startswith("-"):
            args[i : i + 2] = [f"{args[i]}={args[i + 1]}"]
        i += 1
    return args


# Flags whose value may start with '-' ('--shock -10%', '--edit "-x ..."').
_VALUE_FLAGS = ("--shock", "--edit", "--add", "--delete")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_attach_shock_values(sys.argv[1:] if argv is None else argv))
    handlers = {"report": run_report, "record": run_record, "serve": run_serve, None: run_tui}
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"symbiosis: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head -1`) has gone. Point stdout at /dev/null so the
        # interpreter's final flush is quiet; exit 1 as Python's docs and Rich do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


if __name__ == "__main__":
    sys.exit(main())
