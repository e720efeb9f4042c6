"""Read the replay format (JSON lines) of the design into a MarketState."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.feeds.state import EVENT_TYPES, MarketStateBuilder
from core.model import MarketState


class ReplayError(ValueError):
    """A replay file that cannot be read; the message names file and line."""


def read_events(path: str | Path) -> Iterator[dict[str, Any]]:
    """Events of a replay file, oldest first, validated line by line."""
    for _, event in numbered_events(path):
        yield event


def apply_event(builder: MarketStateBuilder, path: str | Path, number: int, event: dict) -> None:
    """builder.apply(event), with a malformed event reported by file and line."""
    try:
        builder.apply(event)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReplayError(f"{path}:{number}: malformed {event.get('type')} event ({exc})") from exc


def numbered_events(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, event) pairs of a replay file, validated line by line."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ReplayError(f"{path}: cannot open replay file ({exc.strerror})") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                event = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ReplayError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(event, dict):
                raise ReplayError(f"{path}:{number}: expected a JSON object")
            if event.get("type") not in EVENT_TYPES:
                raise ReplayError(
                    f"{path}:{number}: key 'type' must be one of {', '.join(EVENT_TYPES)}"
                )
            if not isinstance(event.get("ts"), int):
                raise ReplayError(f"{path}:{number}: key 'ts' must be an integer (ms)")
            if event["type"] == "tiers" and not event.get("symbol"):
                raise ReplayError(f"{path}:{number}: a 'tiers' event needs a 'symbol'")
            yield number, event


def load_replay_end(path: str | Path) -> MarketState:
    """The market state at the end of a replay file.

    An event may carry a "note" (e.g. that the data is made up); the last one wins.
    """
    builder = MarketStateBuilder()
    note = ""
    for number, event in numbered_events(path):
        apply_event(builder, path, number, event)
        info = event.get("note")
        if isinstance(info, str):
            note = info
    return builder.state(status="replay", note=note)
