"""compute() after a one-field edit, against the hand-written numpy reference."""

from __future__ import annotations

import math
import random
import time
from dataclasses import replace

import numpy as np

from benchmarks.generate import Book, edit_size, make_book
from benchmarks.numpy_reference import arrays_of, compute_reference
from benchmarks.stats import percentiles
from core.engine import RiskEngine, compute


def time_engine(book: Book, repeats: int, seed: int = 7) -> list[float]:
    """ms of compute() on a chain of single-size edits (as a user's keystrokes build them)."""
    rng = random.Random(seed)
    portfolio = book.portfolio
    engine = RiskEngine()  # as the app owns one
    engine.compute(portfolio, book.market, 0.0, book.settings)  # warm-up, as after start
    samples = []
    for _ in range(repeats):
        portfolio = edit_size(portfolio, rng.randrange(len(portfolio.positions)), 1.01)
        start = time.perf_counter()
        engine.compute(portfolio, book.market, 0.0, book.settings)
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def time_reference(book: Book, repeats: int, seed: int = 7) -> list[float]:
    """ms of the numpy reference on the same chain of edits (arrays edited in place)."""
    rng = random.Random(seed)
    arrays = arrays_of(book)
    compute_reference(arrays)
    samples = []
    for _ in range(repeats):
        arrays.size[rng.randrange(len(arrays.size))] *= 1.01
        start = time.perf_counter()
        compute_reference(arrays)
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def max_relative_difference(book: Book, shock_pct: float = -12.0) -> float:
    """Largest relative gap between engine and reference per-position figures (a sanity check)."""
    report = compute(book.portfolio, book.market, shock_pct, book.settings)
    reference = compute_reference(arrays_of(book), shock_pct / 100.0)
    frame = report.position_frame
    worst = 0.0
    for column in (
        "notional_usd",
        "unrealized_pnl_usd",
        "maintenance_margin_usd",
        "liquidation_price",
        "funding_usd_per_period",
    ):
        engine = frame[column].fill_null(float("nan")).to_numpy()
        ours = np.asarray(reference[column], dtype=np.float64)
        if not np.array_equal(np.isnan(engine), np.isnan(ours)):
            return math.inf
        both = ~np.isnan(engine)
        scale = np.maximum(np.abs(ours[both]), 1e-9)
        if both.any():
            worst = max(worst, float(np.max(np.abs(engine[both] - ours[both]) / scale)))
    if list(frame["liquidated"]) != [bool(x) for x in reference["liquidated"]]:
        return math.inf
    return worst


def run(sizes: list[int], repeats_for: dict[int, int]) -> dict[str, dict]:
    """recompute_ms, numpy_reference_ms and ratio_vs_numpy per N."""
    engine: dict[str, dict] = {}
    reference: dict[str, dict] = {}
    ratio: dict[str, float] = {}
    agreement: dict[str, float] = {}
    for n in sizes:
        book = make_book(n)
        repeats = repeats_for[n]
        engine[str(n)] = percentiles(time_engine(book, repeats))
        reference[str(n)] = percentiles(time_reference(book, max(repeats, 20)))
        ratio[str(n)] = engine[str(n)]["p50"] / reference[str(n)]["p50"]
        agreement[str(n)] = max_relative_difference(replace(book))
    return {
        "recompute_ms": engine,
        "numpy_reference_ms": reference,
        "ratio_vs_numpy": ratio,
        "reference_max_rel_diff": agreement,
    }
