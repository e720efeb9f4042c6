"""A small bounded cache keyed by the identity of immutable inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """build() remembered for the same key objects (compared with `is`), newest kept.

    The inputs are frozen values (portfolios, market states, settings), so the
    same objects mean the same answer; comparing by identity costs nothing.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: list[tuple[tuple[object, ...], V]] = []

    def get(self, keys: tuple[object, ...], build: Callable[[], V]) -> V:
        entries = self._entries
        for i, (cached_keys, value) in enumerate(entries):
            if len(cached_keys) == len(keys) and all(
                a is b for a, b in zip(cached_keys, keys, strict=True)
            ):
                entries.append(entries.pop(i))
                return value
        value = build()
        entries.append((keys, value))
        del entries[: -self.size]
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
