"""One live market snapshot for headless commands."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.feeds.base import Backoff
from core.model import MarketState, Portfolio

if TYPE_CHECKING:
    from core.config import AppConfig

SNAPSHOT_DEADLINE_S = 6.0
SNAPSHOT_TIMEOUT_MS = 3000


class OfflineError(RuntimeError):
    """No live market data could be had."""


async def fetch_snapshot(
    config: AppConfig,
    portfolio: Portfolio | None,
    *,
    exchange: Any = None,
    deadline_s: float = SNAPSHOT_DEADLINE_S,
) -> MarketState:
    """One REST pass (markets, tickers, funding, tiers) within `deadline_s`."""
    from core.feeds.ccxt_feed import CcxtFeed, venue_feeds  # lazy: pulls in ccxt on first use

    if len(config.feed.exchanges) > 1 and (exchange is None or isinstance(exchange, Mapping)):
        # Several venues: `exchange` may map a venue to its ccxt object.
        return await _several_venues(config, portfolio, venue_feeds, deadline_s, exchange)

    feed = CcxtFeed.from_config(
        config,
        portfolio,
        websocket=False,
        timeout_ms=SNAPSHOT_TIMEOUT_MS,
        exchange=exchange,
        backoff=Backoff(0.0, 0.0),
    )
    try:
        state = await asyncio.wait_for(feed.poll_once(), deadline_s)
    except TimeoutError as exc:
        raise OfflineError(f"{config.feed.exchange}: no answer within {deadline_s:g} s") from exc
    finally:
        await feed.close()
    if state.status != "live":
        problem = "; ".join(f"{k}: {v}" for k, v in feed.problems.items()) or "no data"
        raise OfflineError(f"{config.feed.exchange}: {problem}")
    return state


async def _several_venues(
    config: AppConfig,
    portfolio: Portfolio | None,
    venue_feeds: Any,
    deadline_s: float,
    exchanges: Mapping[str, Any] | None,
) -> MarketState:
    """Every venue polled at once; one that cannot be reached makes the report offline."""
    from core.feeds.venues import merge_venues

    feeds = venue_feeds(
        config,
        portfolio,
        exchanges,
        websocket=False,
        timeout_ms=SNAPSHOT_TIMEOUT_MS,
        backoff=Backoff(0.0, 0.0),
    )
    try:
        async with asyncio.timeout(deadline_s):
            states = await asyncio.gather(*(feed.poll_once() for feed in feeds.values()))
    except TimeoutError as exc:
        raise OfflineError(f"{', '.join(feeds)}: no answer within {deadline_s:g} s") from exc
    finally:
        for feed in feeds.values():
            await feed.close()
    by_venue = dict(zip(feeds, states, strict=True))
    for venue, state in by_venue.items():
        if state.status != "live":
            problem = "; ".join(f"{k}: {v}" for k, v in feeds[venue].problems.items()) or "no data"
            raise OfflineError(f"{venue}: {problem}")
    default = config.feed.exchanges[0]
    others = {v: s for v, s in by_venue.items() if v != default}
    return merge_venues(by_venue[default], others)


def live_snapshot(config: AppConfig, portfolio: Portfolio) -> MarketState:
    """The live market for the symbols of config and portfolio (status "live").

    Raises OfflineError within a few seconds when the exchange cannot be reached,
    and at once when SYMBIOSIS_OFFLINE=1 asks for no network at all.
    """
    if os.environ.get("SYMBIOSIS_OFFLINE") == "1":
        raise OfflineError("SYMBIOSIS_OFFLINE=1")
    return asyncio.run(fetch_snapshot(config, portfolio))
