"""One market state for a book across venues: the default venue's quotes as they
are, every other venue's under "<symbol>@<venue>" (contracts, tiers) and
"<asset>@<venue>" (spot), as core.model reads them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from core.feeds.base import Feed, FeedBase
from core.model import FeedStatus, MarketState, frozen_map, venue_key

# The feed's state follows its worst venue: one stale venue makes the book stale.
_STATUS_ORDER: tuple[FeedStatus, ...] = ("live", "replay", "stale", "offline")


def merge_venues(default: MarketState, others: Mapping[str, MarketState]) -> MarketState:
    """The default venue's state with the other venues' quotes added under their keys."""
    if not others:
        return default
    spot, contracts = dict(default.spot), dict(default.contracts)
    tiers, sources = dict(default.tiers), dict(default.tier_sources)
    clock, status = default.clock_ms, default.status
    notes = [default.note] if default.note else []
    for venue, state in others.items():
        spot.update({venue_key(asset, venue): q for asset, q in state.spot.items()})
        contracts.update({venue_key(s, venue): q for s, q in state.contracts.items()})
        tiers.update({venue_key(s, venue): t for s, t in state.tiers.items()})
        sources.update({venue_key(s, venue): label for s, label in state.tier_sources.items()})
        clock = max(clock, state.clock_ms)
        if _STATUS_ORDER.index(state.status) > _STATUS_ORDER.index(status):
            status = state.status
        if state.note:
            notes.append(f"{venue}: {state.note}")
    return MarketState(
        clock_ms=clock,
        exchange=default.exchange,
        spot=frozen_map(spot),
        contracts=frozen_map(contracts),
        tiers=frozen_map(tiers),
        status=status,
        stale_after_ms=default.stale_after_ms,
        note=" · ".join(notes),
        tier_sources=frozen_map(sources),
    )


class VenuesFeed(FeedBase):
    """Follows several venues at once (one feed each) and publishes their merged state."""

    def __init__(self, feeds: Mapping[str, Feed], default: str) -> None:
        super().__init__("offline")
        self.feeds = dict(feeds)
        self.default = default
        self._latest_by: dict[str, MarketState] = {}

    @property
    def problems(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for venue, feed in self.feeds.items():
            for key, text in (getattr(feed, "problems", {}) or {}).items():
                found[f"{venue} {key}"] = text
        return found

    def _task_name(self) -> str:
        return "venues-" + "-".join(self.feeds)

    async def _run(self) -> None:
        for feed in self.feeds.values():
            await feed.start()
        try:
            await asyncio.gather(*(self._follow(v, f) for v, f in self.feeds.items()))
        finally:
            self._close()

    async def _follow(self, venue: str, feed: Feed) -> None:
        async for state in feed.updates():
            self._latest_by[venue] = state
            default = self._latest_by.get(self.default)
            if default is None:
                continue  # the book's default venue prices most of it: wait for it
            others = {v: s for v, s in self._latest_by.items() if v != self.default}
            self._publish(merge_venues(default, others))

    async def _release(self) -> None:
        for feed in self.feeds.values():
            try:
                await feed.stop()
            except Exception:  # noqa: BLE001 - one venue failing to close must not stop the rest
                pass
