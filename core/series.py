"""Polars Series helpers that run as direct kernels (no query plan per call).

Only arithmetic, comparisons, zip_with, filter and sum run as direct kernels on
a Series; clip, abs, fill_null, is_in and negation plan a query each
(~50-250 us), which dominates a small book. Length-1 Series broadcast in zip_with.
"""

from __future__ import annotations

import polars as pl

NULL = pl.Series("null", [None], dtype=pl.Float64)
ZERO = pl.Series("zero", [0.0])
MINUS_ONE = pl.Series("minus_one", [-1.0])


def where(mask: pl.Series, then: pl.Series, otherwise: pl.Series) -> pl.Series:
    """then where mask holds, else otherwise (a null mask counts as false, as in when/then)."""
    return then.zip_with(mask, otherwise)


def at_least(values: pl.Series, bound: pl.Series) -> pl.Series:
    """clip(lower_bound=bound) that keeps nulls and NaN (bound is a length-1 Series)."""
    return bound.zip_with(values < bound[0], values)


def absolute(values: pl.Series) -> pl.Series:
    """|values|, nulls kept."""
    return (0.0 - values).zip_with(values < 0.0, values)
