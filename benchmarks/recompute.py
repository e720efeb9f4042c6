"""compute() against the tight numpy kernel: edit, shock key, feed tick and cold start.

Each operation is timed the way the app meets it:
- edit: a one-field size edit of a random position (a chain of them, as keystrokes
  build them), then compute();
- shock: the same book and market, a shock one step from the last (1 %, 2 %, 1 %, ...);
- tick: a new MarketState in which every spot price and mark moved (pre-built, each
  a new object, more of them than the engine caches);
- cold: compute() on a new RiskEngine (nothing cached).
The kernel does the same work from the same inputs: an edit writes its row, a tick
reads the new MarketState into arrays, a cold start lays the book out first.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable

from benchmarks.generate import Book, edit_size, make_book, moved_market
from benchmarks.stats import percentiles
from benchmarks.tight_kernel import evaluate, layout_of, market_arrays, set_position
from core.engine import RiskEngine
from core.model import MarketState

OPERATIONS = ("edit", "shock", "tick", "cold")
TICK_MARKETS = 6  # distinct markets cycled through: more than the engine keeps


def _timed(run: Callable[[int], object], repeats: int) -> list[float]:
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        run(i)
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def _markets(book: Book, count: int) -> list[MarketState]:
    rng = random.Random(3)
    markets = [book.market]
    for _ in range(count):
        markets.append(moved_market(markets[-1], rng))
    return markets[1:]


def time_engine(book: Book, markets: list[MarketState], repeats: int) -> dict[str, list[float]]:
    """ms per operation of compute()."""
    settings, rng = book.settings, random.Random(7)
    engine = RiskEngine()  # as the app owns one
    compute = engine.compute
    compute(book.portfolio, book.market, 0.0, settings)  # warm, as after the app starts
    chain = [book.portfolio]

    def edit(_: int) -> None:
        chain[0] = edit_size(chain[0], rng.randrange(len(chain[0].positions)), 1.01)
        compute(chain[0], book.market, 0.0, settings)

    samples = {"edit": _timed(edit, repeats)}
    portfolio = chain[0]
    compute(portfolio, book.market, 0.0, settings)
    samples["shock"] = _timed(
        lambda i: compute(portfolio, book.market, 1.0 + i % 2, settings), repeats
    )
    samples["tick"] = _timed(
        lambda i: compute(portfolio, markets[i % len(markets)], 0.0, settings), repeats
    )

    def cold(_: int) -> None:
        RiskEngine().compute(portfolio, book.market, 0.0, settings)

    samples["cold"] = _timed(cold, max(2, repeats // 4))
    return samples


def time_kernel(book: Book, markets: list[MarketState], repeats: int) -> dict[str, list[float]]:
    """ms per operation of the tight kernel, from the same inputs."""
    settings, rng = book.settings, random.Random(7)
    layout = layout_of(book.portfolio, book.market, settings)
    arrays = market_arrays(layout, book.market)
    evaluate(layout, arrays)
    chain = [book.portfolio]

    def edit(_: int) -> None:
        row = rng.randrange(len(chain[0].positions))
        chain[0] = edit_size(chain[0], row, 1.01)
        set_position(layout, row, chain[0].positions[row])
        evaluate(layout, arrays)

    samples = {"edit": _timed(edit, repeats)}
    samples["shock"] = _timed(lambda i: evaluate(layout, arrays, (1.0 + i % 2) / 100.0), repeats)
    samples["tick"] = _timed(
        lambda i: evaluate(layout, market_arrays(layout, markets[i % len(markets)])), repeats
    )

    def cold(_: int) -> None:
        fresh = layout_of(chain[0], book.market, settings)
        evaluate(fresh, market_arrays(fresh, book.market))

    samples["cold"] = _timed(cold, max(2, repeats // 4))
    return samples


def run(sizes: list[int], repeats_for: dict[int, int]) -> dict[str, dict]:
    """engine_ms, kernel_ms (p50, p95, n) and ratio (engine p50 / kernel p50) per
    operation and N."""
    engine: dict[str, dict] = {op: {} for op in OPERATIONS}
    kernel: dict[str, dict] = {op: {} for op in OPERATIONS}
    ratio: dict[str, dict] = {op: {} for op in OPERATIONS}
    for n in sizes:
        book = make_book(n)
        markets = _markets(book, min(TICK_MARKETS, repeats_for[n]))
        gc.collect()
        ours = time_engine(book, markets, repeats_for[n])
        theirs = time_kernel(book, markets, repeats_for[n])
        for op in OPERATIONS:
            engine[op][str(n)] = percentiles(ours[op])
            kernel[op][str(n)] = percentiles(theirs[op])
            ratio[op][str(n)] = engine[op][str(n)]["p50"] / kernel[op][str(n)]["p50"]
        del book, markets
        gc.collect()
    return {"engine_ms": engine, "kernel_ms": kernel, "ratio_vs_kernel": ratio}
