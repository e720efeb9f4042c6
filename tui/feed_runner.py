"""The app's first market state and the runner that feeds it from a `Feed`.

Which source (live ccxt, a replay, the fallback between them) is decided once,
in `core.feeds.source`; this module only adapts a Feed to the app's
publish/say callbacks, and never lets a feed's fault end the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from core.feeds.base import Feed
from core.feeds.replay_file import ReplayError
from core.feeds.secrets import describe_fault
from core.feeds.source import FATAL, MarketSource, SourceFeed, first_state
from core.model import MarketState

Publish = Callable[[MarketState], None]
Say = Callable[[str, str], None]
FeedRunner = Callable[[Publish, Say], Awaitable[None]]


def feed_runner(feed: Feed) -> FeedRunner:
    """Run `feed`, handing every state to `publish` and its notices to `say`."""

    async def run(publish: Publish, say: Say) -> None:
        on_notice = getattr(feed, "on_notice", None)
        if callable(on_notice):
            on_notice(say)
        try:
            await feed.start()
            async for state in feed.updates():
                publish(state)
        except FATAL:
            raise
        except BaseException as exc:  # noqa: BLE001 - the app stays up whatever the feed does
            say(f"feed stopped: {describe_fault(exc, 200)}", "error")
        finally:
            try:
                await feed.stop()
            except ReplayError as exc:
                say(f"replay stopped: {exc}", "error")
            except FATAL:
                raise
            except BaseException as exc:  # noqa: BLE001
                say(f"feed stopped: {describe_fault(exc, 200)}", "error")

    return run


def first_replay_state(path: Path) -> MarketState:
    """The state after the replay's first timestamp (what the first paint shows)."""
    return first_state(MarketSource(False, "", Path(path)))


def replay_runner(path: Path, speed: float | None = 1.0) -> FeedRunner:
    """Play a replay file into the app."""
    return feed_runner(SourceFeed(MarketSource(False, "", Path(path)), speed=speed))


def live_feed_factory(session: Any) -> Callable[[], Feed]:
    def make() -> Feed:
        from core.feeds.ccxt_feed import live_feed  # lazy: ccxt is heavy

        return live_feed(session.config, session.loaded.portfolio)

    return make


def initial_market_and_feed(
    session: Any, replay_given: bool
) -> tuple[MarketState, FeedRunner, str | None]:
    """(first market state, feed runner, notice for the status line)."""
    source = getattr(session, "source", None)
    if not isinstance(source, MarketSource):
        wants_live = session.config.feed.kind == "ccxt" and not replay_given
        source = MarketSource(wants_live, session.config.feed.exchange, Path(session.replay))
    feed = SourceFeed(source, live_feed_factory(session) if source.live else None)
    return first_state(source), feed_runner(feed), source.notice
