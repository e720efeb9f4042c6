"""Key-to-frame latency in the real app, with a simulated 10 Hz feed running.

The pilot only presses keys; the clock is the app's own: `perf_counter` when
the App handles the key event, stopped by a `call_after_refresh` scheduled
right after the key's action ran, i.e. after the next screen refresh. The
no-op key goes through the same path with an action that does nothing.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import events
from textual.binding import Binding

from benchmarks.generate import Book, make_book, moved_market
from benchmarks.stats import percentiles
from core.config import LoadedPortfolio, load_config
from core.model import MarketState
from tui.app import SymbiosisApp

ROOT = Path(__file__).resolve().parent.parent
FEED_PERIOD_S = 0.1
NOOP_KEY = "f12"  # bound to nothing in the app


class TimedApp(SymbiosisApp):
    """The app with a stopwatch around the timed keys (and a no-op binding)."""

    BINDINGS = [Binding(NOOP_KEY, "noop", show=False)]
    # CSS_PATH is resolved beside the class's module: keep the app's own file.
    CSS_PATH = str(ROOT / "tui" / "app.tcss")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.samples: dict[str, list[float]] = {"edit": [], "noop": []}
        self.queued_samples: dict[str, list[float]] = {"edit": [], "noop": []}
        self._kind: str | None = None
        self._started = 0.0
        self._created = 0.0
        self.key_done = asyncio.Event()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self._kind is not None and not self._started:
            self._started = time.perf_counter()
            self._created = event.time
        await super().on_event(event)

    def _stop(self) -> None:
        if self._kind is None or not self._started:
            return
        self.samples[self._kind].append((time.perf_counter() - self._started) * 1000.0)
        # Message.time is textual's monotonic clock: includes the wait in the app's queue.
        self.queued_samples[self._kind].append((time.monotonic() - self._created) * 1000.0)
        self._kind = None
        self._started = 0.0
        self.key_done.set()

    def action_shock(self, step: float) -> None:
        super().action_shock(step)
        self.call_after_refresh(self._stop)

    def action_noop(self) -> None:
        self.call_after_refresh(self._stop)

    def expect(self, kind: str) -> None:
        self._kind = kind
        self._started = 0.0
        self.key_done.clear()


def _feed(markets: list[MarketState]) -> Callable[..., Any]:
    async def run(publish: Callable[[MarketState], None], say: Callable[[str, str], None]) -> None:
        i = 0
        while True:
            await asyncio.sleep(FEED_PERIOD_S)
            i += 1
            publish(markets[i % len(markets)])

    return run


def _app(book: Book, markets: list[MarketState], folder: Path) -> TimedApp:
    config = load_config(ROOT / "config.toml")
    config = replace(config, settings=book.settings, portfolio_path=folder / "portfolio.toml")
    loaded = LoadedPortfolio(book.portfolio, folder / "portfolio.toml", "")
    return TimedApp(config, loaded, book.market, feed=_feed(markets))


async def _measure(
    n_positions: int, presses: int, size: tuple[int, int], ticks_ahead: int
) -> dict[str, Any]:
    book = make_book(n_positions)
    rng = random.Random(11)
    # Ticks are built ahead so the feed's own cost is not on the event loop.
    markets = [book.market]
    for _ in range(ticks_ahead):
        markets.append(moved_market(markets[-1], rng))
    with tempfile.TemporaryDirectory() as folder:
        app = _app(book, markets[1:], Path(folder))
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            recomputes_before = app.recompute_count
            started = time.perf_counter()
            for i in range(presses):
                for kind, key in (("edit", "]" if i % 2 == 0 else "["), ("noop", NOOP_KEY)):
                    # A random phase against the feed's 100 ms ticks.
                    await asyncio.sleep(rng.uniform(0.0, FEED_PERIOD_S))
                    app.expect(kind)
                    await pilot.press(key)
                    await asyncio.wait_for(app.key_done.wait(), 5.0)
            elapsed = time.perf_counter() - started
            ticks = app.recompute_count - recomputes_before - presses
            await pilot.press("q")
    edit, noop = percentiles(app.samples["edit"]), percentiles(app.samples["noop"])
    return {
        "positions": n_positions,
        "terminal": f"{size[0]}x{size[1]}",
        "edit_key": "] / [ (shock +1 % / -1 %)",
        "noop_key": NOOP_KEY,
        "edit": edit,
        "noop": noop,
        "p95_above_noop": edit["p95"] - noop["p95"],
        "from_event_created": {
            "edit": percentiles(app.queued_samples["edit"]),
            "noop": percentiles(app.queued_samples["noop"]),
        },
        "feed_ticks_applied": ticks,
        "feed_ticks_per_s": ticks / elapsed if elapsed else 0.0,
    }


def run(
    n_positions: int = 1_000,
    presses: int = 100,
    size: tuple[int, int] = (200, 50),
    ticks_ahead: int = 30,
) -> dict:
    """keystroke_ms at `n_positions` with the 10 Hz feed running (cycling `ticks_ahead` ticks)."""
    return asyncio.run(_measure(n_positions, presses, size, ticks_ahead))
