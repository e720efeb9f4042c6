"""Choose the app's first market state and the feed that keeps it current."""

from __future__ import annotations

from typing import Any

from core.feeds.replay_file import load_replay_end
from core.model import MarketState


def initial_market_and_feed(
    session: Any, replay_given: bool
) -> tuple[MarketState, Any, str | None]:
    """(first market state, feed runner or None, notice for the status line)."""
    market = load_replay_end(session.replay)
    notice = None
    if session.config.feed.kind == "ccxt" and not replay_given:
        notice = f"offline: showing the replay {session.replay.name}"
    return market, None, notice
