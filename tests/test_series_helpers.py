"""The polars Series helpers keep nulls and NaN where the engine relies on it."""

from __future__ import annotations

import math

import polars as pl

from core.identity_cache import IdentityCache
from core.series import MINUS_ONE, NULL, ZERO, absolute, at_least, where


def test_where_takes_then_where_the_mask_holds_and_otherwise_elsewhere_null_mask_false() -> None:
    mask = pl.Series([True, False, None])
    result = where(mask, pl.Series([1.0, 2.0, 3.0]), pl.Series([10.0, 20.0, 30.0]))
    assert result.to_list() == [1.0, 20.0, 30.0]
    assert where(pl.Series([True, False]), pl.Series([5.0, 6.0]), NULL).to_list() == [5.0, None]


def test_at_least_clips_from_below_and_keeps_nulls_and_nan() -> None:
    values = pl.Series([-3.0, 0.5, None, float("nan")])
    clipped = at_least(values, ZERO).to_list()
    assert clipped[:3] == [0.0, 0.5, None]
    assert math.isnan(clipped[3])
    assert at_least(pl.Series([-2.5, -0.2]), MINUS_ONE).to_list() == [-1.0, -0.2]


def test_absolute_flips_negatives_and_keeps_nulls() -> None:
    assert absolute(pl.Series([-2.0, 3.0, None, -0.0])).to_list() == [2.0, 3.0, None, 0.0]


def test_identity_cache_builds_once_per_key_objects_and_keeps_only_the_newest() -> None:
    cache: IdentityCache[str] = IdentityCache(2)
    a, b, c = object(), object(), object()
    built: list[str] = []

    def build(name: str) -> str:
        built.append(name)
        return name

    assert cache.get((a,), lambda: build("a")) == "a"
    assert cache.get((a,), lambda: build("again")) == "a"  # same object: no rebuild
    cache.get((b,), lambda: build("b"))
    cache.get((c,), lambda: build("c"))  # evicts a, the oldest
    assert len(cache) == 2
    assert cache.get((a,), lambda: build("a2")) == "a2"
    assert built == ["a", "b", "c", "a2"]
