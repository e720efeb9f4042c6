"""A Feed over a replay file: at recorded speed, at a speed factor, or straight to the end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.feeds.base import FeedBase
from core.feeds.replay_file import apply_event, fold_replay, numbered_events, replay_note
from core.feeds.state import MarketStateBuilder, timestamp_problem
from core.model import MarketState

Sleep = Callable[[float], Awaitable[None]]
MAX_GAP_S = 60.0


class ReplayFeed(FeedBase):
    """Plays a recording; its clock is the `ts` of the latest event played.

    `speed` 1.0 plays in real time, 10.0 ten times faster, None jumps to the end.
    Events sharing one `ts` are published as one state.
    """

    def __init__(
        self, path: str | Path, *, speed: float | None = 1.0, sleep: Sleep = asyncio.sleep
    ) -> None:
        super().__init__("replay")
        if speed is not None and speed <= 0:
            raise ValueError("replay speed must be > 0")
        self.path = Path(path)
        self.speed = speed
        self._sleep = sleep
        self._builder = MarketStateBuilder()
        self._note = ""
        self._to_end = asyncio.Event()
        self.finished = False

    def _task_name(self) -> str:
        return f"replay-{self.path.name}"

    def jump_to_end(self) -> None:
        """Play the remaining events without waiting."""
        self._to_end.set()

    async def wait_finished(self) -> MarketState | None:
        """Wait until the last event has been played; the final state."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.latest

    async def _run(self) -> None:
        try:
            await self._play()
        finally:
            self.finished = True
            self._close()

    async def _play(self) -> None:
        previous_ts: int | None = None
        pending = False
        for number, event in numbered_events(self.path):
            ts = event["ts"]
            # An event whose own time is garbage is dropped below: it sets no pace.
            timely = timestamp_problem(ts) is None
            if timely and previous_ts is not None and ts != previous_ts and pending:
                self._publish(self._state())
                pending = False
                await self._wait(ts - previous_ts)
            # A dropped event (bad data, a timestamp outside 2000-2100) sets no clock,
            # but its note is news: the state is published all the same.
            if apply_event(self._builder, self.path, number, event):
                previous_ts = ts
            pending = pending or previous_ts is not None
            note = replay_note(event.get("note"))
            if note is not None:
                self._note = note
        if not self._builder.accepted:
            # An empty or eventless file is an error, never a book priced at zero.
            fold_replay(self.path)
        if pending:
            self._publish(self._state())

    async def _wait(self, gap_ms: int) -> None:
        if self.speed is None or self._to_end.is_set() or gap_ms <= 0:
            return
        waiter = asyncio.ensure_future(self._to_end.wait())
        # A recording paused for hours plays on after a minute, not after hours.
        delay = min(gap_ms / 1000 / self.speed, MAX_GAP_S)
        sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    def _state(self) -> MarketState:
        return self._builder.state(status="replay", note=self._note)
