"""Choose the app's first market state and the feed that keeps it current.

Live ccxt data when config asks for it and the network answers; otherwise the
replay (named with --replay, in config, or the bundled demo), played at its
recorded speed. ccxt is imported in a thread, after the first paint.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.feeds.replay_file import ReplayError, apply_event, numbered_events
from core.feeds.state import MarketStateBuilder
from core.model import MarketState

Publish = Callable[[MarketState], None]
Say = Callable[[str, str], None]
FeedRunner = Callable[[Publish, Say], Awaitable[None]]

FIRST_ANSWER_TIMEOUT_S = 15.0


def first_replay_state(path: Path) -> MarketState:
    """The state after the replay's first timestamp (what the first paint shows)."""
    builder = MarketStateBuilder()
    note = ""
    first_ts = None
    for number, event in numbered_events(path):
        if first_ts is None:
            first_ts = event["ts"]
        elif event["ts"] != first_ts:
            break
        apply_event(builder, path, number, event)
        if isinstance(event.get("note"), str):
            note = event["note"]
    return builder.state(status="replay", note=note)


def replay_runner(path: Path, speed: float | None = 1.0, why: str = "") -> FeedRunner:
    """Play a replay; `why` (e.g. "offline") is prefixed to the note shown on screen."""

    async def run(publish: Publish, say: Say) -> None:
        from core.feeds.replay import ReplayFeed

        feed = ReplayFeed(path, speed=speed)
        await feed.start()
        try:
            async for state in feed.updates():
                if why:
                    state = replace(state, note=f"{why} · {state.note}" if state.note else why)
                publish(state)
        finally:
            try:
                await feed.stop()
            except ReplayError as exc:
                say(f"replay stopped: {exc}", "error")
                return
        say(f"replay {path.name} finished; figures stay at its last prices", "information")

    return run


def live_runner(session: Any, fallback: Path) -> FeedRunner:
    async def run(publish: Publish, say: Say) -> None:
        # Importing ccxt costs most of a second: keep it off the event loop.
        await asyncio.to_thread(importlib.import_module, "ccxt.async_support")
        from core.feeds.ccxt_feed import CcxtFeed

        feed = CcxtFeed.from_config(session.config, session.loaded.portfolio)
        await feed.start()
        updates = feed.updates()
        try:
            first = await asyncio.wait_for(anext(updates), FIRST_ANSWER_TIMEOUT_S)
        except (TimeoutError, StopAsyncIteration):
            first = None
        if first is None or first.status == "offline":
            problem = "; ".join(feed.problems.values()) or "no answer"
            await feed.stop()
            exchange = session.config.feed.exchange
            say(
                f"offline: {exchange} unreachable — playing the replay {fallback.name} "
                f"({problem[:100]})",
                "warning",
            )
            await replay_runner(fallback, why=f"offline: {exchange} unreachable")(publish, say)
            return
        say(f"live: {session.config.feed.exchange} public data", "success")
        publish(first)
        try:
            async for state in updates:
                publish(state)
        finally:
            await feed.stop()

    return run


def initial_market_and_feed(
    session: Any, replay_given: bool
) -> tuple[MarketState, FeedRunner, str | None]:
    """(first market state, feed runner, notice for the status line)."""
    replay_path = Path(session.replay)
    wants_live = session.config.feed.kind == "ccxt" and not replay_given
    if wants_live and os.environ.get("SYMBIOSIS_OFFLINE") != "1":
        market = replace(
            first_replay_state(replay_path),
            status="offline",
            note=f"connecting to {session.config.feed.exchange}… (demo prices until it answers)",
        )
        return market, live_runner(session, replay_path), None
    notice = f"offline: playing the replay {replay_path.name}" if wants_live else None
    return first_replay_state(replay_path), replay_runner(replay_path), notice
