"""The draft under edit: the saved book, the edited one, bounded undo/redo and the diff."""

from __future__ import annotations

from collections import deque

from core.config import LoadedPortfolio
from core.model import Portfolio

# Undo keeps this many steps: a long what-if session never grows without bound.
MAX_UNDO = 200


class History:
    """Undo/redo over immutable portfolios (at most `limit` steps back)."""

    def __init__(self, initial: Portfolio, limit: int = MAX_UNDO) -> None:
        self._past: deque[Portfolio] = deque(maxlen=limit)
        self._future: list[Portfolio] = []
        self.current = initial

    def push(self, portfolio: Portfolio) -> None:
        if portfolio == self.current:
            return
        self._past.append(self.current)
        self._future.clear()
        self.current = portfolio

    def undo(self) -> bool:
        if not self._past:
            return False
        self._future.append(self.current)
        self.current = self._past.pop()
        return True

    def redo(self) -> bool:
        if not self._future:
            return False
        self._past.append(self.current)
        self.current = self._future.pop()
        return True

    def reset(self, portfolio: Portfolio) -> None:
        self._past.clear()
        self._future.clear()
        self.current = portfolio

    @property
    def can_undo(self) -> bool:
        return bool(self._past)

    @property
    def can_redo(self) -> bool:
        return bool(self._future)


class Draft:
    """The saved book, the draft under edit (with history) and what differs."""

    def __init__(self, loaded: LoadedPortfolio) -> None:
        self.loaded = loaded
        self.history = History(loaded.portfolio)
        self._edited_cache: tuple[Portfolio, Portfolio, tuple[frozenset[str], int]] | None = None

    @property
    def saved(self) -> Portfolio:
        return self.loaded.portfolio

    @property
    def current(self) -> Portfolio:
        return self.history.current

    def edited_keys(self) -> tuple[frozenset[str], int]:
        """Ids/assets that differ from the saved book, and the count of changes."""
        # Asked twice per paint and on every clock tick; the answer only changes with
        # the draft or the saved book, and the scan is O(positions).
        current, saved = self.current, self.saved
        cached = self._edited_cache
        if cached is not None and cached[0] is current and cached[1] is saved:
            return cached[2]
        result = self._diff()
        self._edited_cache = (current, saved, result)
        return result

    def _diff(self) -> tuple[frozenset[str], int]:
        saved_positions = {p.id: p for p in self.saved.positions}
        saved_holdings = {h.asset: h for h in self.saved.holdings}
        current = self.current
        changed = {
            p.id
            for p in current.positions
            if (old := saved_positions.get(p.id)) is not p and old != p
        }
        changed |= {h.asset for h in current.holdings if saved_holdings.get(h.asset) != h}
        removed = (set(saved_positions) - {p.id for p in current.positions}) | (
            set(saved_holdings) - {h.asset for h in current.holdings}
        )
        wallets = int(current.collateral_usd != self.saved.collateral_usd) + sum(
            current.accounts.get(v) != self.saved.accounts.get(v)
            for v in set(current.accounts) | set(self.saved.accounts)
        )
        return frozenset(changed), len(changed) + len(removed) + wallets
