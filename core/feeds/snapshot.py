"""One live market snapshot for headless commands."""

from __future__ import annotations

from core.config import AppConfig
from core.model import MarketState, Portfolio


class OfflineError(RuntimeError):
    """No live market data could be had."""


def live_snapshot(config: AppConfig, portfolio: Portfolio) -> MarketState:
    """The live market for the symbols of config and portfolio."""
    raise OfflineError("live ccxt feed unavailable")
