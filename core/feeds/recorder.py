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


class RecordingExistsError(FileExistsError):
    """`record --out FILE` on a file that exists, without --append: nothing was written."""


class EventWriter:
    """Appends events to a file, one JSON object a line, flushed each time.

    The file is opened at the first event ('x': never truncating one that exists;
    'a' with append), so a recording of nothing writes nothing. An interrupted
    recording is still a valid replay file. A write that fails is kept in
    `error` (the feed must not swallow it) and stops the writing.
    """

    def __init__(self, path: Path, *, append: bool = False) -> None:
        self.path = path
        self.append = append
        self.handle: IO[str] | None = None
        self.count = 0
        self.error: OSError | None = None
        self.failed = asyncio.Event()

    def __call__(self, event: dict[str, Any]) -> None:
        if self.error is not None:
            return
        line = json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n"
        try:
            if self.handle is None:
                self.handle = self.path.open("a" if self.append else "x", encoding="utf-8")
            self.handle.write(line)
            self.handle.flush()
        except OSError as exc:
            self.error = exc
            self.failed.set()
            return
        self.count += 1

    def close(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError as exc:
                self.error = self.error or exc


async def record_feed(
    feed: CcxtFeed, out_path: Path, seconds: float | None, *, append: bool = False
) -> EventWriter:
    """Run `feed` for `seconds` (None: until cancelled), writing its events."""
    writer = EventWriter(out_path, append=append)
    feed.add_event_sink(writer)
    await feed.start()
    try:
        waiter = asyncio.ensure_future(writer.failed.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()
    finally:
        try:
            await feed.stop()
        finally:
            writer.close()
    return writer


def record(
    config: AppConfig,
    portfolio: Portfolio,
    out_path: Path,
    seconds: float | None,
    err: IO[str] | None = None,
    *,
    append: bool = False,
) -> int:
    """`symbiosis record`: write the live feed to `out_path`; the exit code.

    2 when the file exists (without `append`) or cannot be written; 1 when
    nothing was recorded (and then no file is written).
    """
    err = err or sys.stderr
    if out_path.exists() and not append:
        err.write(
            f"symbiosis: {out_path} exists; not overwritten "
            "(use --append to add to it, or another name)\n"
        )
        return 2
    feed = CcxtFeed.from_config(config, portfolio)
    writer = asyncio.run(record_feed(feed, out_path, seconds, append=append))
    if writer.error is not None:
        reason = writer.error.strerror or type(writer.error).__name__
        if isinstance(writer.error, FileExistsError):
            reason = "it appeared while recording; not overwritten"
        err.write(f"symbiosis: cannot write {out_path}: {reason}\n")
        return 2
    if writer.count == 0:
        reason = next(iter(feed.problems.values()), "no answer")
        err.write(f"offline: nothing recorded from {config.feed.exchange} ({reason})\n")
        return 1
    if feed.unavailable:
        listed = ", ".join(sorted(feed.unavailable))
        err.write(f"note: not on {config.feed.exchange}: {listed}\n")
    err.write(f"recorded {writer.count} events to {out_path}\n")
    return 0
