"""Read the replay format (JSON lines) of the design into a MarketState."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.feeds.state import EVENT_TYPES, MarketStateBuilder
from core.model import MarketState

# A note a replay carries (e.g. "made-up demo data") is shown on screen: one line.
NOTE_LIMIT = 200


def replay_note(value: object) -> str | None:
    """An event's "note" as one line fit for the screen, or None when it has none.

    It is text from a file: control characters go, and brackets become
    parentheses so that no markup parser can read it as a tag.
    """
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value[:NOTE_LIMIT] if ch.isprintable())
    return text.replace("[", "(").replace("]", ")")


class ReplayError(ValueError):
    """A replay file that cannot be read; the message names file and line."""


def read_events(path: str | Path) -> Iterator[dict[str, Any]]:
    """Events of a replay file, oldest first, validated line by line."""
    for _, event in numbered_events(path):
        yield event


def apply_event(
    builder: MarketStateBuilder, path: str | Path, number: int, event: dict[str, Any]
) -> bool:
    """builder.apply(event), with a malformed event reported by file and line.

    Bad market data in a well-formed event is dropped by the builder (False),
    and its note names the symbol.
    """
    try:
        return builder.apply(event)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ReplayError(f"{path}:{number}: malformed {event.get('type')} event ({exc})") from exc


def numbered_events(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, event) pairs of a replay file, validated line by line."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except IsADirectoryError as exc:
        raise ReplayError(f"{path}: is a folder, not a replay file") from exc
    except OSError as exc:
        raise ReplayError(f"{path}: cannot open replay file ({exc.strerror})") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise ReplayError(f"{path}:1: the file is UTF-16 text; a replay file is UTF-8")
            try:
                text = raw.decode("utf-8").strip().lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                raise ReplayError(f"{path}:{number}: not valid UTF-8 text") from exc
            if not text:
                continue
            yield number, _event(path, number, text)


def _event(path: Path, number: int, text: str) -> dict[str, Any]:
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise ReplayError(f"{path}:{number}: JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ReplayError(f"{path}:{number}: not valid JSON ({str(exc)[:80]})") from exc
    if not isinstance(event, dict):
        raise ReplayError(f"{path}:{number}: expected a JSON object")
    if event.get("type") not in EVENT_TYPES:
        raise ReplayError(f"{path}:{number}: key 'type' must be one of {', '.join(EVENT_TYPES)}")
    ts = event.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise ReplayError(f"{path}:{number}: key 'ts' must be an integer (ms)")
    return event


def fold_replay(
    path: str | Path,
    *,
    first_ts_only: bool = False,
    each_timestamp: Callable[[MarketState], None] | None = None,
) -> MarketState:
    """The market state at the end of a replay file (or after its first timestamp).

    An event may carry a "note" (e.g. that the data is made up); the last one wins.
    A file with no usable event is an error, never a book priced at zero.
    `each_timestamp` sees the state after each timestamp's events, the last being
    the one returned (a history filled in the same read of the file).
    """
    builder = MarketStateBuilder()
    note = ""
    first_ts = previous_ts = None
    lines = 0
    for number, event in numbered_events(path):
        lines += 1
        ts = event["ts"]
        if first_ts is None:
            first_ts = ts
        elif first_ts_only and ts != first_ts and builder.accepted:
            break
        if each_timestamp is not None and previous_ts is not None and ts != previous_ts:
            each_timestamp(builder.state(status="replay", note=note))
        previous_ts = ts
        apply_event(builder, path, number, event)
        info = replay_note(event.get("note"))
        if info is not None:
            note = info
    if not builder.accepted:
        if not lines:
            raise ReplayError(f"{path}: the replay file is empty (no events)")
        raise ReplayError(
            f"{path}: no usable market data in {lines} events ({builder.dropped_note()})"
        )
    state = builder.state(status="replay", note=note)
    if each_timestamp is not None:
        each_timestamp(state)
    return state


def load_replay_end(path: str | Path) -> MarketState:
    """The market state at the end of a replay file."""
    return fold_replay(path)
