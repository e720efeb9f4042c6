"""Summary statistics of timing samples (no numpy: the memory run imports only the app)."""

from __future__ import annotations

import math
import statistics


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """Median and nearest-rank p95 of a list of milliseconds."""
    ordered = sorted(samples_ms)
    p95 = ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]
    return {"p50": statistics.median(ordered), "p95": p95, "n": len(ordered)}
