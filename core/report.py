"""The Report: every figure the app shows, as immutable rows (no maths here)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from typing import Any, TypeVar, overload

import numpy as np
import polars as pl

Health = str  # "ok" | "warn" | "danger"


T = TypeVar("T")


class LazyRows(Sequence[T]):
    """A fixed-length sequence whose rows are built on first read, then kept."""

    def __init__(self, count: int, build: Callable[[int], T]) -> None:
        self._rows: list[T | None] = [None] * count
        self._build = build

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...

    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._rows)))]
        row = self._rows[index]
        if row is None:
            if index < 0:
                index += len(self._rows)
            row = self._rows[index] = self._build(index)
        return row


@dataclass(frozen=True)
class Totals:
    equity: float
    net_exposure_usd: float
    net_exposure_pct: float | None
    beta_weighted_exposure_usd: float
    gross_exposure_usd: float
    margin_ratio: float | None  # the worst: cross accounts' and every isolated position's
    health: Health
    cross_margin_ratio: float | None  # the worst venue's cross account
    liquidation_shock_down_pct: float | None  # smallest BTC fall that liquidates anything
    liquidation_shock_up_pct: float | None  # smallest BTC rise that liquidates anything
    spot_value_usd: float
    collateral_usd: float
    isolated_margin_usd: float
    unrealized_pnl_usd: float
    initial_margin_usd: float
    maintenance_margin_usd: float
    funding_usd_per_period: float


@dataclass(frozen=True)
class HoldingRow:
    asset: str
    qty: float
    price: float | None
    value_usd: float
    weight_pct: float | None
    beta: float
    beta_assumed: bool
    change_24h_pct: float | None
    stable: bool
    stale: bool
    cost_usd: float | None
    pnl_usd: float | None


@dataclass(frozen=True)
class AssetRow:
    asset: str
    spot_usd: float
    futures_usd: float
    net_usd: float
    beta: float
    beta_assumed: bool
    beta_weighted_usd: float
    hedge_ratio: float | None


@dataclass(frozen=True)
class PositionRow:
    id: str
    book: str
    kind: str
    symbol: str
    asset: str
    side: str
    size: float
    entry_price: float
    mark_price: float
    notional_usd: float
    leverage: float
    margin_mode: str
    margin_usd: float
    initial_margin_usd: float
    maintenance_margin_usd: float
    maintenance_margin_rate: float
    unrealized_pnl_usd: float
    liquidation_price: float | None
    distance_to_liquidation_pct: float | None
    hedge_ratio: float | None
    funding_rate: float | None
    funding_usd_per_period: float | None
    carry_apr_pct: float | None
    spot_qty: float
    spot_leg_usd: float
    stale: bool
    tier_source: str
    venue: str
    margin_ratio: float | None  # its own (isolated) or its account's (cross)
    liquidation_shock_pct: float | None  # the signed BTC move nearest 0 that liquidates it
    shocked_mark_price: float
    shocked_unrealized_pnl_usd: float
    shocked_margin_ratio: float | None
    liquidated: bool  # in the scenario


@dataclass(frozen=True)
class AccountRow:
    """One venue's futures account: its cross wallet and cross margin health."""

    venue: str
    collateral_usd: float
    cross_margin_ratio: float | None
    health: Health


@dataclass(frozen=True)
class BasisRow:
    symbol: str
    asset: str
    kind: str
    spot: float | None
    futures: float | None
    basis: float | None
    basis_pct: float | None
    annualized_pct: float | None
    days_to_expiry: float | None
    funding_rate: float | None
    funding_apr_pct: float | None
    next_funding_ms: int | None
    stale: bool
    venue: str = ""


@dataclass(frozen=True)
class Allocation:
    pct: float | None
    band: tuple[float, float]
    in_band: bool


@dataclass(frozen=True)
class Scenario:
    shock_pct: float
    pnl_usd: float
    equity: float
    margin_ratio: float | None
    health: Health
    liquidated: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """Figures of one compute(); holding, asset and position rows are built on demand.

    A keystroke recomputes the report but the app may only read the totals, so
    the row tuples are made on first access (from `holdings_of` / `assets_of`,
    and from the columnar `position_frame`).
    """

    totals: Totals
    holdings_of: Callable[[], tuple[HoldingRow, ...]]
    assets_of: Callable[[], tuple[AssetRow, ...]]
    basis_rows: LazyRows[BasisRow]
    allocation: Mapping[str, Allocation]
    scenario: Scenario
    accounts: tuple[AccountRow, ...]
    warnings: tuple[str, ...]
    clock_ms: int
    feed_status: str
    note: str
    position_frame: Any  # polars DataFrame whose columns are PositionRow's fields
    liquidated_in_scenario: frozenset[str] = frozenset()

    @cached_property
    def holdings(self) -> tuple[HoldingRow, ...]:
        return self.holdings_of()

    @cached_property
    def assets(self) -> tuple[AssetRow, ...]:
        return self.assets_of()

    @cached_property
    def basis(self) -> tuple[BasisRow, ...]:
        return tuple(self.basis_rows)

    @cached_property
    def positions(self) -> tuple[PositionRow, ...]:
        names = [f.name for f in fields(PositionRow)]
        return tuple(PositionRow(*row) for row in self.position_frame.select(names).iter_rows())

    def nearest_liquidation(self) -> tuple[str, float] | None:
        """(id, distance %) of the position nearest its liquidation price (the first
        in book order on a tie), or None when no position has one."""
        frame = self.position_frame
        if not frame.height:
            return None
        # A null (no liquidation price) reads as NaN and never wins.
        distance = frame["distance_to_liquidation_pct"].cast(pl.Float64).to_numpy()
        if np.isnan(distance).all():
            return None
        i = int(np.nanargmin(distance))
        return str(frame["id"][i]), float(distance[i])

    def position(self, position_id: str) -> PositionRow:
        for row in self.positions:
            if row.id == position_id:
                return row
        raise KeyError(position_id)

    def asset(self, asset: str) -> AssetRow:
        for row in self.assets:
            if row.asset == asset:
                return row
        raise KeyError(asset)

    def to_json(self) -> dict[str, Any]:
        """The JSON document of `symbiosis report --json` (design's keys)."""
        doc = {
            "totals": asdict(self.totals),
            "holdings": [asdict(r) for r in self.holdings],
            "assets": [asdict(r) for r in self.assets],
            "positions": [asdict(r) for r in self.positions],
            "basis": [asdict(r) for r in self.basis],
            "allocation": {
                name: {"pct": a.pct, "band": list(a.band), "in_band": a.in_band}
                for name, a in self.allocation.items()
            },
            "scenario": {**asdict(self.scenario), "liquidated": list(self.scenario.liquidated)},
            "accounts": [asdict(a) for a in self.accounts],
            "warnings": list(self.warnings),
            "clock_ms": self.clock_ms,
            "feed_status": self.feed_status,
            "note": self.note,
        }
        return _finite_or_null(doc)


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value
