"""Command line: `symbiosis`, `symbiosis report`, `symbiosis record`, `symbiosis serve`,
`symbiosis import`.

Textual is imported only when the TUI starts, so `report` stays light.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import whatif
from core.config import AppConfig, ConfigError, LoadedPortfolio, load_config, load_portfolio
from core.edits import EditError
from core.engine import UnsupportedContractError, compute
from core.feeds.replay_file import ReplayError
from core.feeds.source import MarketSource, choose_source, headless_market
from core.locations import bundled_path, config_path
from core.model import MarketState, Portfolio
from core.risk import RiskInputError
from core.risk.history import ContractHistory
from core.risk.settings import RiskSettings
from tui import risk_cli
from tui.import_cli import add_import_parser
from tui.report_text import print_report_table
from tui.serve import add_serve_parser

DEMO_REPLAY = bundled_path("data/demo.jsonl")


class UsageError(Exception):
    """A user-facing problem: printed as one line, exit code 2."""


@dataclass(frozen=True)
class Session:
    """What a command works on: config, portfolio and the replay to fall back to."""

    config: AppConfig
    loaded: LoadedPortfolio
    replay: Path
    source: MarketSource | None = None
    # [alerts] and [fees] of the config, read once for every command.
    risk: RiskSettings = field(default_factory=RiskSettings)


def resolve_config_path(path: str | None) -> Path:
    """--config, else ./config.toml, else the user's config folder, else the bundled one."""
    return config_path(path)


def open_session(
    config: str | None, portfolio: str | None, replay: str | None, *, market: bool = True
) -> Session:
    """Load config and portfolio (and choose the market source); raise UsageError.

    A replay named on the command line or in config that does not exist is an
    error, never a silent switch to the demo (`market=False` skips the choice).
    """
    try:
        app_config = load_config(resolve_config_path(config))
        path = Path(portfolio) if portfolio else app_config.portfolio_path
        loaded = load_portfolio(path, venues=app_config.feed.exchanges)
        risk = risk_cli.check_risk_settings(app_config.path)
        source = choose_source(app_config, replay, DEMO_REPLAY) if market else None
    except (ConfigError, ReplayError) as exc:
        raise UsageError(str(exc)) from exc
    return Session(app_config, loaded, source.replay if source else DEMO_REPLAY, source, risk)


def market_for_report(
    session: Session, replay_given: bool
) -> tuple[MarketState, str | None, ContractHistory]:
    """The market for a headless report, a notice for stderr (or None), and the
    replay's history of basis and funding (filled in the same read; empty on live data)."""
    source = session.source
    if source is None or (replay_given and source.live):
        source = MarketSource(False, session.config.feed.exchange, session.replay)
    history = ContractHistory()
    try:
        market, notice = headless_market(
            source, session.config, session.loaded.portfolio, each_timestamp=history.record
        )
    except ReplayError as exc:
        raise UsageError(str(exc)) from exc
    return market, notice or source.notice, history


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


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """No cycle collection while a one-shot command runs (restored after, for callers
    that go on, such as tests calling main()).

    A report builds about a million objects (rows, events, quotes) that live until the
    end; the collector's passes over them took 0.2-0.4 s of a 10,000-position report
    and found a few hundred cycles. Everything is freed at exit all the same.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_report(args: argparse.Namespace) -> int:
    with cycle_collection_paused():
        return _report(args)


def _report(args: argparse.Namespace) -> int:
    session = open_session(args.config, args.portfolio, args.replay)
    market, notice, history = market_for_report(session, replay_given=bool(args.replay))
    if notice:
        print(notice, file=sys.stderr)
    portfolio, done = apply_whatif(session.loaded.portfolio, market, args.whatif or ())
    try:
        report = compute(portfolio, market, args.shock, session.config.settings)
    except UnsupportedContractError as exc:
        raise UsageError(str(exc)) from exc
    try:
        risk = risk_cli.risk_keys(
            args,
            session.risk,
            report,
            portfolio,
            market,
            session.config.settings,
            history,
        )
        # The whole document is only built to be written: 0.7 s of a 10,000-row table.
        document: dict[str, Any] = {}
        if args.json or args.out:
            document = {**report.to_json(), **risk}
            if args.whatif:
                document["whatif"] = done
        risk_cli.write_out(args, report, document)
    except (RiskInputError, ConfigError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_report_table(report)
        risk_cli.print_risk_tables(risk)
    # Flush here so a closed pipe surfaces inside main's handler, not at exit.
    sys.stdout.flush()
    return 0


def run_record(args: argparse.Namespace) -> int:
    from core.feeds.recorder import record  # lazy: ccxt is heavy

    session = open_session(args.config, None, None, market=False)
    return record(
        session.config,
        session.loaded.portfolio,
        Path(args.out),
        args.seconds,
        append=args.append,
    )


def run_import(args: argparse.Namespace) -> int:
    from tui.import_cli import run_import_command

    session = open_session(args.config, args.portfolio, None)
    return run_import_command(args, session, UsageError)


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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--seconds must be a number, not {text!r}") from exc
    if not math.isfinite(value) or not 0 < value <= 366 * 86400:
        raise argparse.ArgumentTypeError("--seconds must be above 0 and at most a year")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symbiosis", description=__doc__)
    parser.add_argument(
        "--config",
        help="config.toml (default: ./config.toml, else $XDG_CONFIG_HOME/symbiosis/config.toml, "
        "else the bundled one)",
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
    risk_cli.add_risk_arguments(report)
    record = sub.add_parser("record", help="record the live feed to a replay file")
    record.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    record.add_argument("--out", required=True, metavar="FILE")
    record.add_argument("--seconds", type=_seconds, default=None, metavar="N")
    record.add_argument("--append", action="store_true", help="add to an existing file")
    add_serve_parser(sub)
    add_import_parser(sub)
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
    args = parser.parse_args(
        risk_cli.attach_negative_values(
            _attach_shock_values(sys.argv[1:] if argv is None else argv)
        )
    )
    handlers = {
        "report": run_report,
        "record": run_record,
        "serve": run_serve,
        "import": run_import,
        None: run_tui,
    }
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
