"""Feed ticks coalesced: a burst of market states becomes one recompute and one paint."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

# Feed ticks within this window are one recompute and one repaint: up to four
# frames a second, enough to read and light over SSH.
COALESCE_S = 0.25
# A tick waits behind keystrokes at most this long: prices stay live while typing.
MAX_TICK_DELAY_S = 0.5

T = TypeVar("T")


class Timer(Protocol):
    def stop(self) -> None: ...


class TickCoalescer(Generic[T]):
    """Keeps the latest tick and applies it once per window.

    `schedule(delay, callback)` starts a timer (Textual's `set_timer`); `apply`
    receives the latest tick. A keystroke calls `postpone()` so its frame goes out
    before a waiting tick's repaint, never for longer than `max_delay_s`.
    """

    def __init__(
        self,
        schedule: Callable[[float, Callable[[], None]], Any],
        apply: Callable[[T], None],
        window_s: float = COALESCE_S,
        max_delay_s: float = MAX_TICK_DELAY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._schedule = schedule
        self._apply = apply
        self.window_s = window_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._pending: T | None = None
        self._since = 0.0
        self._timer: Timer | None = None

    @property
    def pending(self) -> T | None:
        return self._pending

    def offer(self, tick: T) -> None:
        """A new tick: kept, replacing any waiting one; the first of a burst starts the window."""
        first = self._pending is None
        self._pending = tick
        if first:
            self._since = self._clock()
            self._timer = self._schedule(self.window_s, self._fire)

    def postpone(self) -> None:
        """Push a waiting tick one window later, unless it already waited its bound."""
        timer = self._timer
        if self._pending is None or timer is None:
            return
        if self._clock() - self._since < self.max_delay_s:
            timer.stop()
            self._timer = self._schedule(self.window_s, self._fire)

    def _fire(self) -> None:
        self._timer = None
        tick, self._pending = self._pending, None
        if tick is not None:
            self._apply(tick)
