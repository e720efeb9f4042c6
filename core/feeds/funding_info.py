"""Funding interval per perpetual, refreshed now and then, for the funding APR and countdown.

Binance lists the symbols whose interval is not the usual 8 hours on its funding-info
endpoint (ccxt `fetch_funding_intervals`); a symbol it does not list pays every 8 h.
Bybit states the interval in its market info (`fundingInterval`, minutes). OKX's funding
objects carry it through their two funding timestamps (ccxt fills `interval`), and so do
others whose funding object already says it: those are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.feeds.secrets import describe_fault
from core.feeds.state import _interval_hours, _number

DEFAULT_INTERVAL_H = 8.0
_HOUR_MS = 3_600_000


def interval_label(hours: float) -> str:
    """8.0 -> '8h', 0.5 -> '0.5h' (the form ccxt uses in a funding object's 'interval')."""
    return f"{hours:g}h"


def interval_from_timestamps(funding: Mapping[str, Any]) -> float | None:
    """Hours between a funding object's funding and next-funding timestamps (OKX style)."""
    this = _number(funding.get("fundingTimestamp"))
    following = _number(funding.get("nextFundingTimestamp"))
    if this is None or following is None or following <= this:
        return None
    return (following - this) / _HOUR_MS


class FundingIntervals:
    """symbol -> funding interval in hours for one exchange, refreshed every `refresh_s`."""

    def __init__(self, exchange_id: str, refresh_s: float = 6 * 3600.0) -> None:
        self.exchange_id = exchange_id
        self.refresh_ms = int(refresh_s * 1000)
        self.hours: dict[str, float] = {}
        self.refreshed_at: int | None = None
        self.problem = ""

    def due(self, now_ms: int) -> bool:
        return self.refreshed_at is None or now_ms - self.refreshed_at >= self.refresh_ms

    async def refresh(self, exchange: Any, symbols: Iterable[str], now_ms: int) -> None:
        """Read the intervals of `symbols` when due; a failure keeps the previous ones."""
        symbols = list(symbols)
        if not symbols or not self.due(now_ms):
            return
        # A failed refresh retries after an hour, not on every funding poll.
        self.refreshed_at = now_ms - self.refresh_ms + min(self.refresh_ms, _HOUR_MS)
        try:
            self.hours.update(await self._read(exchange, symbols))
        except Exception as exc:  # noqa: BLE001 - an interval is a refinement, never fatal
            self.problem = describe_fault(exc, exchange_ids=(self.exchange_id,))
            return
        self.problem = ""
        self.refreshed_at = now_ms

    async def _read(self, exchange: Any, symbols: list[str]) -> dict[str, float]:
        markets = getattr(exchange, "markets", None) or {}
        from_markets = {}
        for symbol in symbols:
            info = (markets.get(symbol) or {}).get("info") or {}
            minutes = _number(info.get("fundingInterval"))  # Bybit: minutes
            if minutes:
                from_markets[symbol] = minutes / 60.0
        if from_markets or self.exchange_id != "binance":
            return from_markets
        listed = await exchange.fetch_funding_intervals(symbols)
        hours = {}
        for symbol in symbols:
            entry = listed.get(symbol) if isinstance(listed, Mapping) else None
            value = _interval_hours(entry.get("interval")) if isinstance(entry, Mapping) else None
            hours[symbol] = value or DEFAULT_INTERVAL_H
        return hours

    def fill(self, symbol: str, funding: Mapping[str, Any]) -> Mapping[str, Any]:
        """The funding object with its 'interval' set when the exchange left it out."""
        if _interval_hours(funding.get("interval")):
            return funding
        hours = self.hours.get(symbol) or interval_from_timestamps(funding)
        if hours is None:
            return funding
        return {**funding, "interval": interval_label(hours)}
