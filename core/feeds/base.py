"""The Feed protocol, a small base class that coalesces updates, and backoff."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Callable
from typing import Protocol, runtime_checkable

from core.model import FeedStatus, MarketState

UpdateCallback = Callable[[MarketState], None]


@runtime_checkable
class Feed(Protocol):
    """A source of MarketState updates (live exchange or replay file)."""

    @property
    def status(self) -> FeedStatus: ...

    @property
    def latest(self) -> MarketState | None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def updates(self) -> AsyncIterator[MarketState]: ...

    def subscribe(self, callback: UpdateCallback) -> None: ...


class FeedBase:
    """Holds the latest state; readers see only the newest one (bursts coalesce)."""

    def __init__(self, status: FeedStatus) -> None:
        self._status: FeedStatus = status
        self._latest: MarketState | None = None
        self._version = 0
        self._changed = asyncio.Event()
        self._closed = False
        self._callbacks: list[UpdateCallback] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        """The feed's loop; started by start(), cancelled by stop()."""
        raise NotImplementedError

    def _task_name(self) -> str:
        return type(self).__name__

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._task_name())

    async def stop(self) -> None:
        """Cancel the loop (an error it ended with is raised here) and end updates()."""
        task, self._task = self._task, None
        try:
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        finally:
            await self._release()
            self._close()

    async def _release(self) -> None:
        """Free what the feed holds (sessions, sockets) after its loop stopped."""

    @property
    def status(self) -> FeedStatus:
        return self._status

    @property
    def latest(self) -> MarketState | None:
        return self._latest

    def subscribe(self, callback: UpdateCallback) -> None:
        """Call `callback(state)` on every published state (in the feed's task)."""
        self._callbacks.append(callback)

    def _publish(self, state: MarketState) -> None:
        self._status = state.status
        self._latest = state
        self._version += 1
        self._changed.set()
        for callback in self._callbacks:
            callback(state)

    def _close(self) -> None:
        self._closed = True
        self._changed.set()

    async def updates(self) -> AsyncIterator[MarketState]:
        """Yield the newest state each time it changes, until the feed stops.

        A slow reader skips intermediate states: a burst of ticks is one update.
        """
        seen = 0
        while True:
            if self._version != seen and self._latest is not None:
                seen = self._version
                yield self._latest
                continue
            if self._closed:
                return
            self._changed.clear()
            await self._changed.wait()


class Backoff:
    """Exponential backoff with jitter: initial * factor**n, capped, +/- jitter share."""

    def __init__(
        self,
        initial_s: float = 1.0,
        maximum_s: float = 60.0,
        factor: float = 2.0,
        jitter: float = 0.25,
        rng: random.Random | None = None,
    ) -> None:
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self.factor = factor
        self.jitter = jitter
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        base = min(self.initial_s * self.factor**self.failures, self.maximum_s)
        self.failures += 1
        # Jitter spreads retries of many clients so they do not hit the API in step.
        spread = base * self.jitter * (2 * self._rng.random() - 1)
        delay = base + spread
        return max(0.0, delay) if math.isfinite(delay) else self.maximum_s

    def reset(self) -> None:
        self.failures = 0
