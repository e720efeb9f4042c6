"""History of basis and funding per contract: a bounded ring in memory, filled from
the feed's states (a replay fills it from its file)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from core.feeds.replay_file import fold_replay
from core.model import MarketState, split_venue

DEFAULT_POINTS = 240


class Point(NamedTuple):
    """One observation."""

    ts_ms: int
    basis_pct: float | None  # futures / spot - 1, percent
    funding_rate: float | None  # perpetuals only


class ContractHistory:
    """Per contract symbol, the last `points` observations (oldest first)."""

    def __init__(self, points: int = DEFAULT_POINTS) -> None:
        if points < 2:
            raise ValueError("a history keeps at least 2 points")
        self.points = points
        # Plain (ts_ms, basis_pct, funding_rate) tuples: the garbage collector stops
        # tracking a plain tuple of numbers (not a named one), so a full history
        # (points x contracts, 96,000 at 400 contracts) adds nothing to its scans.
        self._rings: dict[str, deque[tuple[int, float | None, float | None]]] = {}
        # Per perpetual: the latest funding rate and the one before it that differed.
        self._funding: dict[str, float] = {}
        self._previous_funding: dict[str, float] = {}

    def record(self, market: MarketState) -> None:
        """Add one observation per contract quoted since its last one."""
        # Keys are per venue ('BTC/USDT:USDT@bybit' on another venue than the default).
        for symbol, quote in market.contracts.items():
            ring = self._rings.get(symbol)
            if ring is None:
                ring = self._rings[symbol] = deque(maxlen=self.points)
            elif ring[-1][0] >= quote.ts_ms:
                continue
            spot_quote = market.spot_quote(quote.base, split_venue(symbol)[1])
            spot = spot_quote.price if spot_quote else None
            basis = (quote.mark / spot - 1.0) * 100.0 if quote.mark and spot else None
            funding = quote.funding_rate if quote.kind == "swap" else None
            ring.append((quote.ts_ms, basis, funding))
            if funding is not None:
                last = self._funding.get(symbol)
                if last is not None and last != funding:
                    self._previous_funding[symbol] = last
                self._funding[symbol] = funding

    def symbols(self) -> list[str]:
        return list(self._rings)

    def series(self, symbol: str) -> tuple[Point, ...]:
        return tuple(Point(*p) for p in self._rings.get(symbol, ()))

    def basis_pct(self, symbol: str) -> list[float | None]:
        return [basis for _, basis, _ in self._rings.get(symbol, ())]

    def funding_rates(self, symbol: str) -> list[float | None]:
        return [funding for _, _, funding in self._rings.get(symbol, ())]

    def previous_funding(self) -> dict[str, float]:
        """Per perpetual, the last funding rate different from the current one (what a
        funding flip compares against), kept as the states arrive."""
        return dict(self._previous_funding)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rings)


def history_from_replay(path: str | Path, points: int = DEFAULT_POINTS) -> ContractHistory:
    """Play a replay file into a history: one observation per timestamp (the replay is
    folded as `symbiosis report` folds it; a file with no usable event is refused)."""
    history = ContractHistory(points)
    fold_replay(path, each_timestamp=history.record)
    return history
