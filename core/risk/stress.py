"""Stress grid: the what-if scenario at every shock of a range (each one a compute())."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.engine import RiskEngine
from core.model import MarketState, Portfolio, Settings
from core.risk import RiskInputError

DEFAULT_RANGE = "-50:50:5"
# A grid bigger than this is a typo (a step of 0.001), not a question.
MAX_STEPS = 2001


@dataclass(frozen=True)
class StressStep:
    shock_pct: float
    pnl_usd: float
    equity: float
    margin_ratio: float | None
    health: str
    liquidated: tuple[str, ...]
    # The first step of the grid, going out from 0 each way, that liquidates anything.
    first_liquidation: bool = False

    def to_json(self) -> dict:
        return {
            "shock_pct": self.shock_pct,
            "pnl_usd": self.pnl_usd,
            "equity": self.equity,
            "margin_ratio": self.margin_ratio,
            "health": self.health,
            "liquidated": list(self.liquidated),
            "first_liquidation": self.first_liquidation,
        }


@dataclass(frozen=True)
class StressGrid:
    steps: tuple[StressStep, ...]
    first_liquidation_down_pct: float | None
    first_liquidation_up_pct: float | None
    # The engine's exact smallest fall / rise that liquidates anything (any range).
    liquidation_shock_down_pct: float | None = None
    liquidation_shock_up_pct: float | None = None


def parse_range(text: str) -> tuple[float, ...]:
    """'FROM:TO:STEP' in percent -> the shocks, TO included when the steps land on it."""
    parts = text.strip().rstrip("%").split(":")
    if len(parts) != 3:
        raise RiskInputError(f"--stress is FROM:TO:STEP in percent, e.g. {DEFAULT_RANGE}")
    try:
        start, stop, step = (float(p.strip().rstrip("%")) for p in parts)
    except ValueError:
        raise RiskInputError(
            f"--stress: {text!r} is not FROM:TO:STEP numbers (e.g. {DEFAULT_RANGE})"
        ) from None
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise RiskInputError("--stress: FROM, TO and STEP must be finite")
    if step <= 0:
        raise RiskInputError(f"--stress: STEP must be > 0 (got {step:g})")
    if stop < start:
        raise RiskInputError(f"--stress: TO ({stop:g}) is below FROM ({start:g})")
    if start <= -100:
        raise RiskInputError("--stress: FROM must be above -100 (a price cannot fall below 0)")
    # Count with a tolerance so that -50:50:5 reaches 50 despite float steps.
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_STEPS:
        raise RiskInputError(f"--stress: {count} steps; at most {MAX_STEPS}")
    # Multiply rather than accumulate: -50 + 3 * 5 is exactly -35, a running sum drifts.
    return tuple(round(start + i * step, 10) for i in range(count))


def stress_grid(
    portfolio: Portfolio,
    market: MarketState,
    shocks: tuple[float, ...],
    settings: Settings | None = None,
    engine: RiskEngine | None = None,
) -> StressGrid:
    """compute() at every shock; the nearest liquidating shock each way is marked.

    One engine serves every step (the app passes its own): the book's tables are
    built once and each shock only re-prices them.
    """
    engine = engine or RiskEngine()
    scenarios = [engine.compute(portfolio, market, shock, settings).scenario for shock in shocks]
    down = [s.shock_pct for s in scenarios if s.shock_pct < 0 and s.liquidated]
    up = [s.shock_pct for s in scenarios if s.shock_pct > 0 and s.liquidated]
    first_down = max(down) if down else None
    first_up = min(up) if up else None
    steps = tuple(
        StressStep(
            shock_pct=s.shock_pct,
            pnl_usd=s.pnl_usd,
            equity=s.equity,
            margin_ratio=s.margin_ratio,
            health=s.health,
            liquidated=tuple(s.liquidated),
            first_liquidation=s.shock_pct in (first_down, first_up),
        )
        for s in scenarios
    )
    totals = engine.compute(portfolio, market, 0.0, settings).totals
    return StressGrid(
        steps,
        first_down,
        first_up,
        totals.liquidation_shock_down_pct,
        totals.liquidation_shock_up_pct,
    )
