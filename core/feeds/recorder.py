"""Record the live ccxt feed to a replay file (JSON lines, flushed line by line)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.feeds.ccxt_feed import CcxtFeed
from core.model import Portfolio

if TYPE_CHECKING:
    from core.config import AppConfig


class EventWriter:
    """Appends events to an open text file, one JSON object a line, flushed each time.

    An interrupted recording is therefore still a valid replay file.
    """

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.count = 0

    def __call__(self, event: dict[str, Any]) -> None:
        self.handle.write(json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n")
        self.handle.flush()
        self.count += 1


async def record_feed(feed: CcxtFeed, out_path: Path, seconds: float | None) -> int:
    """Run `feed` for `seconds` (None: until cancelled), writing its events; the count."""
    with out_path.open("w", encoding="utf-8") as handle:
        writer = EventWriter(handle)
        feed.add_event_sink(writer)
        await feed.start()
        try:
            if seconds is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(seconds)
        finally:
            await feed.stop()
        return writer.count


def record(
    config: AppConfig,
    portfolio: Portfolio,
    out_path: Path,
    seconds: float | None,
    err: IO[str] | None = None,
) -> int:
    """`symbiosis record`: write the live feed to `out_path`; the exit code."""
    err = err or sys.stderr
    feed = CcxtFeed.from_config(config, portfolio)
    try:
        count = asyncio.run(record_feed(feed, out_path, seconds))
    except OSError as exc:
        err.write(f"symbiosis: cannot write {out_path}: {exc.strerror or exc}\n")
        return 2
    if count == 0:
        reason = next(iter(feed.problems.values()), "no answer")
        err.write(f"offline: nothing recorded from {config.feed.exchange} ({reason})\n")
        return 1
    if feed.unavailable:
        listed = ", ".join(sorted(feed.unavailable))
        err.write(f"note: not on {config.feed.exchange}: {listed}\n")
    err.write(f"recorded {count} events to {out_path}\n")
    return 0
