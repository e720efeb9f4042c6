"""Properties of compute() over generated books and markets (hypothesis)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.engine import compute
from core.model import Holding, MarketState, Portfolio, Position, Settings, frozen_map
from tests.conftest import BTC_TIERS, CLOCK_MS, make_market, reference_figures

ASSETS = ("BTC", "ETH", "SOL", "DOGE")
BETAS = Settings(betas=frozen_map({"ETH": 1.2, "SOL": 1.5, "DOGE": 2.0}))
prices = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)
quantities = st.floats(1e-6, 1e4, allow_nan=False, allow_infinity=False)
leverages = st.floats(1.0, 125.0, allow_nan=False, allow_infinity=False)
shocks = st.floats(-99.9, 500.0, allow_nan=False, allow_infinity=False)

DESIGN_KEYS = {
    "totals": {
        "equity",
        "net_exposure_usd",
        "beta_weighted_exposure_usd",
        "gross_exposure_usd",
        "margin_ratio",
        "health",
    },
    "assets": {"asset", "spot_usd", "futures_usd", "net_usd", "beta", "hedge_ratio"},
    "positions": {
        "id",
        "book",
        "symbol",
        "side",
        "size",
        "entry_price",
        "mark_price",
        "notional_usd",
        "leverage",
        "unrealized_pnl_usd",
        "liquidation_price",
        "distance_to_liquidation_pct",
    },
    "basis": {
        "symbol",
        "spot",
        "futures",
        "basis",
        "basis_pct",
        "annualized_pct",
        "funding_rate",
        "funding_apr_pct",
        "next_funding_ms",
        "stale",
    },
    "scenario": {"shock_pct", "pnl_usd", "margin_ratio", "liquidated"},
}


def perp(asset: str) -> str:
    return f"{asset}/USDT:USDT"


@settings(max_examples=150, deadline=None)
@given(
    book=st.dictionaries(
        st.sampled_from(ASSETS), st.tuples(quantities, prices), min_size=1, max_size=4
    ),
    shock=shocks,
    cross=st.booleans(),
)
def test_a_book_whose_futures_exactly_offset_its_spot_has_zero_pnl_until_a_hedge_is_liquidated(
    book: dict[str, tuple[float, float]], shock: float, cross: bool
):
    market = make_market(
        {asset: price for asset, (_, price) in book.items()},
        {perp(asset): price for asset, (_, price) in book.items()},
    )
    portfolio = Portfolio(
        collateral_usd=1_000.0,
        holdings=tuple(Holding(asset, qty) for asset, (qty, _) in book.items()),
        positions=tuple(
            Position(
                f"h-{asset}",
                "hedge",
                perp(asset),
                "short",
                qty,
                price,
                2.0,
                "cross" if cross else "isolated",
            )
            for asset, (qty, price) in book.items()
        ),
    )
    report = compute(portfolio, market, shock, BETAS)
    gross = sum(qty * price for qty, price in book.values())
    # A liquidated hedge stops hedging: its asset's spot move is no longer offset, and the
    # hedge loses its margin balance at current prices (its margin: opened at the mark),
    # the cross wallet when the cross account goes. Nothing liquidated: zero P&L.
    liquidated = set(report.scenario.liquidated)
    unhedged = sum(
        qty * price * max(shock / 100.0 * BETAS.betas.get(asset, 1.0), -1.0)
        for asset, (qty, price) in book.items()
        if f"h-{asset}" in liquidated
    )
    if cross:
        lost = portfolio.collateral_usd if liquidated else 0.0
    else:
        lost = sum(
            qty * price / 2.0 for asset, (qty, price) in book.items() if f"h-{asset}" in liquidated
        )
    expected = unhedged - lost
    assert report.scenario.pnl_usd == pytest.approx(expected, abs=1e-9 * gross * (1 + abs(shock)))
    assert report.totals.net_exposure_usd == pytest.approx(0.0, abs=1e-9 * gross)
    for asset in book:
        assert report.asset(asset).hedge_ratio == pytest.approx(1.0)


@settings(max_examples=150, deadline=None)
@given(
    size=st.floats(1e-3, 50.0, allow_nan=False),
    entry=st.floats(1_000.0, 200_000.0, allow_nan=False),
    # Leverage in 0.01 steps: two leverages one float apart have the same margin.
    leverages=st.lists(
        st.integers(100, 12_500).map(lambda x: x / 100), min_size=2, max_size=6, unique=True
    ),
)
def test_the_liquidation_price_of_a_long_rises_with_leverage(
    size: float, entry: float, leverages: list[float]
):
    # Same size and entry, margin = notional / leverage, mark at entry (so the tier is fixed).
    market = make_market({"BTC": entry}, {perp("BTC"): entry}, tiers={perp("BTC"): BTC_TIERS})
    book = Portfolio(
        positions=tuple(
            Position(f"l{i}", "alpha", perp("BTC"), "long", size, entry, lev, "isolated")
            for i, lev in enumerate(sorted(leverages))
        )
    )
    report = compute(book, market)
    # None ("—", covered to zero) counts as the lowest possible price.
    lps = [report.position(f"l{i}").liquidation_price or 0.0 for i in range(len(leverages))]
    assert lps == sorted(lps)
    assert all(lp < entry for lp in lps)
    # Strictly: once a price exists, more leverage moves it up (less margin to lose).
    assert all(a < b for a, b in zip(lps, lps[1:], strict=False) if a > 0.0)


positions_strategy = st.lists(
    st.tuples(
        st.sampled_from(ASSETS),
        st.sampled_from(("hedge", "alpha")),
        st.sampled_from(("long", "short")),
        quantities,
        prices,
        leverages,
        st.sampled_from(("isolated", "cross")),
        st.one_of(st.none(), st.floats(1.0, 1e6, allow_nan=False)),
        st.one_of(st.none(), st.floats(1e-6, 100.0, allow_nan=False)),
    ),
    max_size=8,
)


def build(
    spot: dict[str, float],
    marks: dict[str, float],
    raw_positions: list[tuple],
    holdings: dict[str, float],
    collateral: float,
    with_tiers: bool,
) -> tuple[Portfolio, MarketState]:
    market = make_market(
        spot,
        {perp(asset): mark for asset, mark in marks.items()},
        tiers={perp("BTC"): BTC_TIERS} if with_tiers else None,
        funding={perp(asset): 0.0001 for asset in marks},
    )
    positions = []
    for i, (asset, book, side, size, entry, lev, mode, margin, spot_qty) in enumerate(
        raw_positions
    ):
        basis = spot_qty is not None and book == "alpha"
        positions.append(
            Position(
                f"p{i}",
                book,
                perp(asset),
                side,
                size,
                entry,
                lev,
                mode,
                margin,
                "basis" if basis else "future",
                spot_qty if basis else 0.0,
            )
        )
    portfolio = Portfolio(
        collateral_usd=collateral,
        holdings=tuple(Holding(a, q) for a, q in holdings.items()),
        positions=tuple(positions),
    )
    return portfolio, market


def floats_in(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in floats_in(v)]
    if isinstance(value, (list, tuple)):
        return [f for v in value for f in floats_in(v)]
    return []


@settings(max_examples=200, deadline=None)
@given(
    spot=st.dictionaries(st.sampled_from((*ASSETS, "USDT")), prices, max_size=5),
    marks=st.dictionaries(st.sampled_from(ASSETS), prices, max_size=4),
    raw_positions=positions_strategy,
    holdings=st.dictionaries(st.sampled_from((*ASSETS, "USDT", "XYZ")), quantities, max_size=5),
    collateral=st.floats(0.0, 1e7, allow_nan=False),
    with_tiers=st.booleans(),
    shock=shocks,
)
def test_report_figures_are_finite_or_none_and_json_has_the_design_keys(
    spot, marks, raw_positions, holdings, collateral, with_tiers, shock
):
    portfolio, market = build(spot, marks, raw_positions, holdings, collateral, with_tiers)
    report = compute(portfolio, market, shock, BETAS)
    every_figure = [
        asdict(report.totals),
        [asdict(r) for r in report.holdings],
        [asdict(r) for r in report.assets],
        [asdict(r) for r in report.positions],
        [asdict(r) for r in report.basis],
        asdict(report.scenario),
        {k: asdict(v) for k, v in report.allocation.items()},
    ]
    assert all(math.isfinite(f) for f in floats_in(every_figure))
    assert report.totals.health in ("ok", "warn", "danger")
    doc = report.to_json()
    text = json.dumps(doc, allow_nan=False)
    assert json.loads(text) == doc
    for section, keys in DESIGN_KEYS.items():
        rows = doc[section] if isinstance(doc[section], list) else [doc[section]]
        for row in rows:
            assert keys <= set(row), (section, keys - set(row))
    assert len(doc["positions"]) == len(portfolio.positions)
    for name in ("core", "hedge", "alpha"):
        assert set(doc["allocation"][name]) == {"pct", "band", "in_band"}
    assert set(doc["scenario"]["liquidated"]) <= {p.id for p in portfolio.positions}


@settings(max_examples=150, deadline=None)
@given(
    marks=st.fixed_dictionaries({a: prices for a in ASSETS}),
    raw_positions=positions_strategy,
    collateral=st.floats(0.0, 1e7, allow_nan=False),
    with_tiers=st.booleans(),
)
def test_engine_liquidation_prices_equal_the_scalar_reference_for_any_book(
    marks, raw_positions, collateral, with_tiers
):
    portfolio, market = build(marks, marks, raw_positions, {}, collateral, with_tiers)
    report = compute(portfolio, market)
    expected = reference_figures(portfolio, market)
    # The engine sums the cross book once and subtracts each position's own terms; the
    # reference sums the others directly. Both are exact up to rounding of the largest
    # term, so the tolerance is that rounding carried through the formula's denominator.
    terms = collateral + sum(abs(r["mm"]) + abs(r["upnl"]) for r in expected.values())
    for p in portfolio.positions:
        row, ref = report.position(p.id), expected[p.id]
        assert row.maintenance_margin_usd == pytest.approx(ref["mm"], rel=1e-12, abs=1e-9)
        wallet = p.isolated_margin() if p.margin_mode == "isolated" else terms
        tolerance = (
            1e-12
            * (wallet + ref["cum"] + p.size * p.entry_price)
            / (p.size * (1 - ref["mmr"]) if p.side == "long" else p.size * (1 + ref["mmr"]))
        )
        got = row.liquidation_price
        want = ref["liquidation_price"]
        if want is None or got is None:
            # Only a price within rounding of zero may be "—" on one side and not the other.
            assert (got or 0.0) <= tolerance and (want or 0.0) <= tolerance, (got, want)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=tolerance)


def test_clock_is_the_markets_not_the_wall_clock():
    market = make_market({"BTC": 1.0})
    assert compute(Portfolio(), market).clock_ms == CLOCK_MS
