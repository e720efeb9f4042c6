"""Where market data comes from: the one policy for the command line and the app.

Live public ccxt data when config asks for it (and SYMBIOSIS_OFFLINE is not
set), else a replay: the one named with --replay, else the one in config, else
the bundled demo. A replay file that is named but missing is an error, never a
silent switch to the demo. When live data does not answer, the replay is
played instead and the state's note says why.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.feeds.base import Feed, FeedBase
from core.feeds.replay_file import ReplayError, fold_replay
from core.feeds.secrets import describe_fault
from core.model import MarketState, Portfolio

if TYPE_CHECKING:
    from core.config import AppConfig

Notice = Callable[[str, str], None]
LiveFactory = Callable[[], Feed]

FIRST_ANSWER_TIMEOUT_S = 15.0
FATAL = (asyncio.CancelledError, KeyboardInterrupt, SystemExit)


def offline_requested() -> bool:
    """SYMBIOSIS_OFFLINE=1 asks for no network at all."""
    return os.environ.get("SYMBIOSIS_OFFLINE") == "1"


@dataclass(frozen=True)
class MarketSource:
    """The market a command works on: live first or not, and the replay to play."""

    live: bool
    exchange: str
    replay: Path
    # Why live data is not tried although config asks for it (or None).
    notice: str | None = None


def choose_source(config: AppConfig, replay: str | Path | None, demo: Path) -> MarketSource:
    """The source for `config` and a --replay FILE (None when not given).

    Raises ReplayError when the replay named on the command line or in config
    does not exist.
    """
    if replay is not None:
        path = Path(replay)
        problem = _unreadable(path)
        if problem:
            raise ReplayError(f"{path}: cannot open replay file ({problem})")
    elif config.feed.replay is not None:
        path = config.feed.replay
        problem = _unreadable(path)
        if problem:
            raise ReplayError(f"{config.path}: feed.replay: cannot open {path} ({problem})")
    else:
        path = demo
    wants_live = config.feed.kind == "ccxt" and replay is None
    if wants_live and offline_requested():
        notice = f"offline: SYMBIOSIS_OFFLINE=1; using replay {path}"
        return MarketSource(False, config.feed.exchange, path, notice)
    return MarketSource(wants_live, config.feed.exchange, path)


def _unreadable(path: Path) -> str | None:
    """Why a replay file cannot be opened (None when it can)."""
    if path.is_dir():
        return "a folder, not a file"
    try:
        path.open("rb").close()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def headless_market(
    source: MarketSource,
    config: AppConfig,
    portfolio: Portfolio,
    each_timestamp: Callable[[MarketState], None] | None = None,
) -> tuple[MarketState, str | None]:
    """The market for a one-shot command, and a notice for stderr (or None).

    Live: one snapshot; any fault there means offline, and the replay is used
    (`each_timestamp` sees its states as fold_replay plays them).
    Raises ReplayError when the replay cannot be used.
    """
    notice = None
    if source.live:
        from core.feeds.snapshot import live_snapshot  # lazy: ccxt is heavy

        try:
            return live_snapshot(config, portfolio), None
        except FATAL:
            raise
        except BaseException as exc:  # noqa: BLE001 - any fault of the network means offline
            reason = describe_fault(exc, 120)
            notice = f"offline: {reason}; using replay {source.replay}"
    return fold_replay(source.replay, each_timestamp=each_timestamp), notice


def first_state(source: MarketSource) -> MarketState:
    """What the first paint shows: the replay after its first timestamp.

    While live data is awaited it is marked offline, with a note saying so.
    """
    market = fold_replay(source.replay, first_ts_only=True)
    if not source.live:
        return market
    return replace(
        market,
        status="offline",
        note=f"connecting to {source.exchange}… (replay prices until it answers)",
    )


class SourceFeed(FeedBase):
    """A Feed that runs the policy: live data, else (or once live fails first) the replay.

    Notices for the status line ("live: …", "offline: …", "replay finished")
    go to the callbacks given to `on_notice`.
    """

    def __init__(
        self,
        source: MarketSource,
        live_factory: LiveFactory | None = None,
        *,
        speed: float | None = 1.0,
        first_answer_timeout_s: float = FIRST_ANSWER_TIMEOUT_S,
    ) -> None:
        super().__init__("replay")
        self.source = source
        self.live_factory = live_factory
        self.speed = speed
        self.first_answer_timeout_s = first_answer_timeout_s
        self._notices: list[Notice] = []
        self.mode = "replay"

    def on_notice(self, callback: Notice) -> None:
        self._notices.append(callback)

    def _say(self, text: str, severity: str) -> None:
        for callback in self._notices:
            callback(text, severity)

    def _task_name(self) -> str:
        return f"source-{self.source.exchange}"

    async def _run(self) -> None:
        try:
            why = ""
            if self.source.live and self.live_factory is not None:
                why = await self._try_live()
                if not why:
                    return
            await self._play_replay(why)
        finally:
            self._close()

    async def _try_live(self) -> str:
        """Follow live data until stopped; '' then, else why it could not start."""
        exchange = self.source.exchange
        live: Feed | None = None
        try:
            # Importing ccxt costs most of a second: keep it off the event loop.
            await asyncio.to_thread(importlib.import_module, "ccxt.async_support")
            live = self.live_factory() if self.live_factory else None
            if live is None:
                return f"offline: {exchange} unavailable"
            await live.start()
            updates = live.updates()
            try:
                async with asyncio.timeout(self.first_answer_timeout_s):
                    first: MarketState | None = await anext(updates)
            except (TimeoutError, StopAsyncIteration):
                first = None
            if first is None or first.status == "offline":
                problems = getattr(live, "problems", {}) or {}
                problem = "; ".join(problems.values()) or "no answer"
                self._say(
                    f"offline: {exchange} unreachable — playing the replay "
                    f"{self.source.replay.name} ({problem[:100]})",
                    "warning",
                )
                return f"offline: {exchange} unreachable"
            self.mode = "live"
            self._say(f"live: {exchange} public data", "success")
            self._publish(first)
            async for state in updates:
                self._publish(state)
            return ""
        except FATAL:
            raise
        except BaseException as exc:  # noqa: BLE001 - a live feed that breaks means offline
            self._say(f"offline: {exchange}: {describe_fault(exc, 100)}", "warning")
            return f"offline: {exchange} unreachable"
        finally:
            if live is not None:
                await _stop_quietly(live)

    async def _play_replay(self, why: str) -> None:
        from core.feeds.replay import ReplayFeed

        self.mode = "replay"
        feed = ReplayFeed(self.source.replay, speed=self.speed)
        await feed.start()
        try:
            async for state in feed.updates():
                if why:
                    state = replace(state, note=f"{why} · {state.note}" if state.note else why)
                self._publish(state)
        finally:
            try:
                await feed.stop()
            except ReplayError as exc:
                self._say(f"replay stopped: {exc}", "error")
                return
        self._say(
            f"replay {self.source.replay.name} finished; figures stay at its last prices",
            "information",
        )


async def _stop_quietly(feed: Feed) -> None:
    try:
        await feed.stop()
    except FATAL:
        raise
    except BaseException:  # noqa: BLE001 - a feed that fails while stopping is stopped
        pass
