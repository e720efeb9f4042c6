"""`symbiosis import`: read the venues with read-only keys, show the diff, write on consent.

Exit codes: 0 done (or nothing to change), 1 the import could not be done (wrong key,
permission, IP restriction, rate limit, unreachable exchange, file changed meanwhile),
2 bad input. Nothing is written on any failure, and no key is ever printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any, TextIO

from core.config import SaveConflictError, save_portfolio
from core.importer import SUPPORTED_VENUES, ImportFailure, ImportResult, run_import
from core.importer.run import ExchangeFactory, make_exchange
from core.keys import redact, secret_values
from core.ledger import LedgerError, append_funding, ledger_path, read_ledger

# Tests hand in an exchange whose HTTP layer answers from recorded responses.
exchange_factory: ExchangeFactory = make_exchange


def add_import_parser(sub: Any) -> None:
    """The `import` subcommand's arguments."""
    parser = sub.add_parser(
        "import",
        help="import balances and positions from exchanges (read-only keys)",
        description="Read spot balances and futures positions with read-only API keys "
        "(SYMBIOSIS_<EXCHANGE>_API_KEY / _SECRET / _PASSWORD, or the OS keyring) and "
        "merge them into portfolio.toml after showing the changes. Nothing places orders.",
    )
    parser.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    parser.add_argument("--portfolio", dest="portfolio", default=argparse.SUPPRESS)
    parser.add_argument(
        "--exchange",
        action="append",
        dest="exchanges",
        metavar="NAME",
        help="venue to import (repeatable; default: every venue in [feed])",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    parser.add_argument("--yes", action="store_true", help="write without asking (for scripts)")


def print_result(result: ImportResult, path: Any, out: TextIO) -> None:
    venues = ", ".join(a.venue for a in result.accounts)
    if result.diff:
        print(f"Changes to {path} from {venues}:", file=out)
        for line in result.diff:
            print(f"  {line}", file=out)
    else:
        print(f"{path} is up to date with {venues}: nothing to change.", file=out)
    for note in result.plan.notes:
        print(f"note: {note}", file=out)


def _new_funding(result: ImportResult) -> int:
    known = read_ledger(ledger_path())
    ids = set(zip(known["venue"].to_list(), known["id"].to_list(), strict=True))
    return len({(p.venue, p.id) for p in result.funding} - ids)


def _confirm(question: str, ask: Callable[[str], str]) -> bool:
    try:
        return ask(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run_import_command(
    args: argparse.Namespace,
    session: Any,
    usage_error: type[Exception],
    out: TextIO | None = None,
    ask: Callable[[str], str] = input,
    is_terminal: Callable[[], bool] | None = None,
) -> int:
    """Import into the session's portfolio; 0 ok, 1 not done (one line on stderr)."""
    out = out or sys.stdout
    config, loaded = session.config, session.loaded
    venues = list(dict.fromkeys(args.exchanges or config.feed.exchanges))
    unfollowed = [v for v in venues if v not in config.feed.exchanges]
    if unfollowed:
        raise usage_error(
            f"{', '.join(unfollowed)}: not a followed venue; add it to [feed] exchanges in "
            f"{config.path} first (a row of a venue not followed is refused at load)"
        )
    terminal = is_terminal() if is_terminal is not None else sys.stdin.isatty()
    unsupported = [v for v in venues if v not in SUPPORTED_VENUES]
    if unsupported:
        raise usage_error(
            f"{', '.join(unsupported)}: import is not supported "
            f"(supported: {', '.join(SUPPORTED_VENUES)})"
        )
    if not args.dry_run and not args.yes and not terminal:
        raise usage_error("import: not a terminal to confirm on; pass --yes to write or --dry-run")
    secrets = secret_values(venues)
    try:
        result = asyncio.run(
            run_import(
                loaded.portfolio,
                venues,
                config.feed.exchange,
                config.settings.stablecoins,
                exchange_factory,
            )
        )
    except ImportFailure as exc:
        print(f"symbiosis: {redact(str(exc), secrets)}", file=sys.stderr)
        return 1
    print_result(result, loaded.path, out)
    try:
        # Read before anything is written: an unreadable ledger stops the whole import.
        new_payments = _new_funding(result)
    except LedgerError as exc:
        print(f"symbiosis: {exc}", file=sys.stderr)
        return 1
    print(
        f"funding: {len(result.funding)} payments read, {new_payments} new for the ledger "
        f"({ledger_path()})",
        file=out,
    )
    if args.dry_run:
        print("dry run: nothing written.", file=out)
        return 0
    if result.diff and not args.yes:
        count = len(result.diff)
        question = f"Write {count} change{'s' if count != 1 else ''} to {loaded.path}? [y/N] "
        if not _confirm(question, ask):
            print("nothing written.", file=out)
            return 0
    if result.diff:
        try:
            save_portfolio(result.plan.after, loaded.path, loaded.fingerprint, loaded.extra)
        except SaveConflictError as exc:
            print(f"symbiosis: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"symbiosis: {loaded.path}: not written ({exc.strerror or exc})", file=sys.stderr)
            return 1
        print(f"wrote {loaded.path} (previous version kept as .bak)", file=out)
    if new_payments:
        try:
            added = append_funding(ledger_path(), result.funding)
        except (OSError, LedgerError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"symbiosis: funding ledger not written ({reason})", file=sys.stderr)
            return 1
        print(f"funding ledger: {added} payments added", file=out)
    return 0
