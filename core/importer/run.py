"""Run an import: open each venue with its read-only key, read it, plan the merge.

Nothing here writes: the caller shows the diff, asks, then saves through
`core.config.save_portfolio` (fingerprint-checked) and appends the funding ledger.
Every failure becomes one `ImportFailure` line, with every key value redacted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.importer.accounts import FundingPayment, VenueAccount, reader_for
from core.importer.books import ImportPlan, plan_import
from core.importer.diff import portfolio_diff
from core.keys import api_credentials, env_prefix, redact, secret_values
from core.model import Portfolio

ExchangeFactory = Callable[[str], Any]


class ImportFailure(Exception):
    """An import that could not be done; the message is one line, safe to show."""


@dataclass(frozen=True)
class ImportResult:
    plan: ImportPlan
    diff: tuple[str, ...]
    accounts: tuple[VenueAccount, ...]

    @property
    def funding(self) -> tuple[FundingPayment, ...]:
        return tuple(p for account in self.accounts for p in account.funding)


def make_exchange(venue: str) -> Any:
    """A ccxt async exchange with the venue's read-only keys (never places orders)."""
    import ccxt.async_support as ccxt_async

    cls = getattr(ccxt_async, venue, None)
    if cls is None:
        raise ImportFailure(f"{venue}: not an exchange ccxt knows")
    credentials = api_credentials(venue)
    if not (credentials.get("apiKey") and credentials.get("secret")):
        prefix = env_prefix(venue)
        raise ImportFailure(
            f"{venue}: no read-only API key: set {prefix}API_KEY and {prefix}SECRET"
            + (f" (and {prefix}PASSWORD)" if venue == "okx" else "")
            + " or store them in the OS keyring"
        )
    options: dict[str, Any] = {}
    if venue == "binance":
        # Spot and USDⓈ-M only; no currency or margin-pair downloads an import never uses.
        options = {
            "fetchMarkets": {"types": ["spot", "linear"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        }
    return cls({"enableRateLimit": True, "timeout": 15_000, "options": options, **credentials})


# Binance's -2015 names three causes in one message.
_BINANCE_AMBIGUOUS = re.compile(r"API-key, IP, or permissions", re.IGNORECASE)
_IP = re.compile(r"\bIP\b|ip address|whitelist|trusted ip", re.IGNORECASE)


def failure_line(venue: str, exc: BaseException, secrets: Sequence[str]) -> str:
    """One clear line for a ccxt error (wrong key, permission, IP, rate limit, network)."""
    import ccxt

    detail = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, secrets)
    detail = detail[:160]
    if isinstance(exc, ImportFailure):
        return redact(str(exc), secrets)
    if isinstance(exc, ccxt.AuthenticationError) and _BINANCE_AMBIGUOUS.search(str(exc)):
        return (
            f"{venue}: the API key was refused: wrong key or secret, an IP restriction, or "
            f"a missing read permission (the exchange does not say which) ({detail})"
        )
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.PermissionDenied)) and _IP.search(str(exc)):
        return (
            f"{venue}: the key is restricted to other IP addresses; allow this machine's "
            f"address for the key ({detail})"
        )
    if isinstance(exc, ccxt.PermissionDenied):
        return (
            f"{venue}: the key lacks a permission the import needs (read access to the "
            f"spot and futures accounts) ({detail})"
        )
    if isinstance(exc, ccxt.AccountSuspended):
        return f"{venue}: the account is suspended ({detail})"
    if isinstance(exc, ccxt.AuthenticationError):
        return f"{venue}: the API key was refused: wrong key or secret, or expired ({detail})"
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return f"{venue}: rate limit reached; wait a minute and import again ({detail})"
    if isinstance(exc, ccxt.NetworkError):
        return f"{venue}: exchange unreachable ({detail})"
    if isinstance(exc, ccxt.NotSupported):
        return f"{venue}: the exchange does not support a request the import needs ({detail})"
    if isinstance(exc, ccxt.BaseError):
        return f"{venue}: the exchange answered with an error ({detail})"
    return f"{venue}: import failed ({type(exc).__name__}: {detail})"


async def read_venue(
    venue: str,
    stablecoins: Sequence[str],
    factory: ExchangeFactory = make_exchange,
    with_funding: bool = True,
) -> VenueAccount:
    secrets = secret_values([venue])
    exchange = None
    try:
        exchange = factory(venue)
        return await reader_for(exchange, venue, stablecoins).read(with_funding)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every fault becomes one redacted line
        raise ImportFailure(failure_line(venue, exc, secrets)) from None
    finally:
        if exchange is not None:
            try:
                await exchange.close()
            except Exception:  # noqa: BLE001 - closing a broken session must not raise
                pass


async def run_import(
    portfolio: Portfolio,
    venues: Sequence[str],
    default_venue: str,
    stablecoins: Sequence[str],
    factory: ExchangeFactory = make_exchange,
) -> ImportResult:
    """Read every venue (all or nothing) and plan the merge into `portfolio`."""
    accounts = []
    for venue in dict.fromkeys(venues):
        accounts.append(await read_venue(venue, stablecoins, factory))
    plan = plan_import(portfolio, accounts, default_venue, stablecoins)
    diff = portfolio_diff(plan.before, plan.after, default_venue)
    return ImportResult(plan=plan, diff=tuple(diff), accounts=tuple(accounts))
