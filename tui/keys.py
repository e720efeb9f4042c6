"""Keys handled one at a time, in order, each to the end of its journey.

Textual forwards a key to the focused widget's queue and goes on with the next
key at once; a key's binding runs only when the key bubbles back to the app.
In a burst (a paste, tmux, a laggy SSH link) `enter +20% enter` therefore
reached the table before Enter had opened the cell editor: the digits went
to the table (`0` reset the shock) and the edit was lost. Here a key that
arrives while another is still on its way waits, and goes only once every
message queue of the screen has settled (the editor open and focused).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from textual.app import App

# A settle pass waits at most this long for the screen's queues (a stuck widget
# must not freeze the keyboard).
SETTLE_TIMEOUT_S = 0.2
# Passes over the screen's queues: a key bubbles one widget per pass.
MAX_SETTLE_PASSES = 12
_RELEASED = "_symbiosis_released"


def _running(pump: Any) -> bool:
    return bool(
        getattr(pump, "_running", False)
        and not getattr(pump, "_closing", False)
        and not getattr(pump, "_closed", False)
    )


def _queued(pump: Any) -> int:
    # MessagePump keeps its queue private; its size is the one sign of pending work.
    queue = getattr(pump, "_message_queue", None)
    return queue.qsize() if queue is not None else 0


def _resolver(done: asyncio.Future[None]) -> Callable[[], None]:
    # No parameters: Textual passes arguments to a callback that takes some.
    def resolve() -> None:
        if not done.done():
            done.set_result(None)

    return resolve


async def settle(app: App[Any]) -> None:
    """Return once every widget of the current screen has handled what it was sent.

    Each pass waits for the widgets that have messages queued to reach a marker
    posted behind them; what they post on (a key bubbling to its parent, an intent
    to the screen) is seen by the next pass.
    """
    loop = asyncio.get_running_loop()
    for _ in range(MAX_SETTLE_PASSES):
        try:
            pumps: list[Any] = [app, *app.screen.walk_children(with_self=True)]
        except Exception:  # noqa: BLE001 - no screen (starting or closing): nothing to wait for
            return
        # A widget being mounted or removed (the footer redraws its keys on a focus
        # change) would answer late or never: only running ones are waited for.
        busy = [p for p in pumps if _queued(p) and _running(p)]
        if not busy:
            return
        waits = []
        for pump in busy:
            done = loop.create_future()
            if pump.call_later(_resolver(done)):
                waits.append(done)
        if waits:
            await asyncio.wait(waits, timeout=SETTLE_TIMEOUT_S)


class OrderedKeys:
    """The app's key gate for keys from the terminal (not those bubbling back from a
    widget): `hold()` before handling one, `handled()` after."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.waiting: deque[events.Key] = deque()
        self.busy = False
        self._task: asyncio.Task[None] | None = None

    def hold(self, event: events.Key) -> bool:
        """True when the key must wait for the one on its way (the app drops it for now).
        Otherwise the app handles it now and calls `handled` after."""
        if self.busy and not getattr(event, _RELEASED, False):
            self.waiting.append(event)
            return True
        self.busy = True
        return False

    def handled(self) -> None:
        """The app has dispatched the key: wait for it to land, then send the next one."""
        self._task = asyncio.create_task(self._next_after_settling())

    async def _next_after_settling(self) -> None:
        await settle(self.app)
        if not self.waiting:
            self.busy = False
            return
        key = self.waiting.popleft()
        setattr(key, _RELEASED, True)
        # Posted at the end of the app's queue: any key behind it waits in `waiting`.
        if not self.app.call_later(self._release, key):
            self.busy = False

    async def _release(self, key: events.Key) -> None:
        await self.app.on_event(key)
