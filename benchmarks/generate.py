"""Seeded synthetic books for the benchmarks: N positions over about N/5 assets.

Every asset has a spot quote, a perpetual and a dated future, each contract
with five Binance-style leverage tiers; positions mix spot-hedging shorts,
directional longs and basis trades, isolated and cross margin.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from core.margin import with_maintenance_amounts
from core.model import (
    DAY_MS,
    ContractQuote,
    Holding,
    MarketState,
    Portfolio,
    Position,
    Settings,
    SpotQuote,
    Tier,
    frozen_map,
)

CLOCK_MS = 1_795_176_000_000
EXPIRY_MS = CLOCK_MS + 90 * DAY_MS
# Binance-like USDT-M brackets: floor of notional, maintenance rate.
BRACKETS = ((0.0, 0.004), (50_000.0, 0.005), (250_000.0, 0.01), (1e6, 0.025), (5e6, 0.05))


@dataclass(frozen=True)
class Book:
    """A generated portfolio, its market and the settings (betas) that go with it."""

    portfolio: Portfolio
    market: MarketState
    settings: Settings


def asset_names(count: int) -> list[str]:
    """BTC, ETH, then A0002, A0003, ..."""
    return ["BTC", "ETH", *(f"A{i:04d}" for i in range(2, count))][:count]


def _tiers() -> tuple[Tier, ...]:
    caps = [floor for floor, _ in BRACKETS[1:]] + [float("inf")]
    return with_maintenance_amounts(
        [Tier(floor, cap, mmr) for (floor, mmr), cap in zip(BRACKETS, caps, strict=True)]
    )


def make_market(assets: list[str], rng: random.Random, clock_ms: int = CLOCK_MS) -> MarketState:
    """Spot, perpetual and 90-day future per asset, all fresh at `clock_ms`."""
    tiers = _tiers()
    spot: dict[str, SpotQuote] = {}
    contracts: dict[str, ContractQuote] = {}
    tier_map: dict[str, tuple[Tier, ...]] = {}
    for asset in assets:
        price = 60_000.0 if asset == "BTC" else 2_500.0 if asset == "ETH" else rng.uniform(0.5, 500)
        spot[asset] = SpotQuote(asset, f"{asset}/USDT", price, rng.uniform(-5, 5), clock_ms)
        perp = f"{asset}/USDT:USDT"
        dated = f"{asset}/USDT:USDT-261225"
        contracts[perp] = ContractQuote(
            perp,
            asset,
            "swap",
            mark=price * (1 + rng.uniform(-0.001, 0.001)),
            funding_rate=rng.uniform(-0.0002, 0.0003),
            funding_interval_h=8.0,
            next_funding_ms=clock_ms + 3_600_000,
            ts_ms=clock_ms,
        )
        contracts[dated] = ContractQuote(
            dated,
            asset,
            "future",
            expiry_ms=EXPIRY_MS,
            mark=price * (1 + rng.uniform(0.0, 0.03)),
            ts_ms=clock_ms,
        )
        tier_map[perp] = tiers
        tier_map[dated] = tiers
    return MarketState(
        clock_ms=clock_ms,
        exchange="bench",
        spot=frozen_map(spot),
        contracts=frozen_map(contracts),
        tiers=frozen_map(tier_map),
        status="replay",
    )


def make_book(n_positions: int, seed: int = 1, n_assets: int | None = None) -> Book:
    """A portfolio of `n_positions` futures positions over `n_assets` (default
    max(2, n/5)) assets, each with a perpetual and a dated future."""
    rng = random.Random(seed)
    assets = asset_names(n_assets or max(2, n_positions // 5))
    market = make_market(assets, rng)
    # Every asset but one in 50 has a configured beta (the rest are flagged "assumed").
    betas = {a: round(rng.uniform(0.6, 2.0), 2) for i, a in enumerate(assets[1:]) if i % 50}
    settings = Settings(betas=frozen_map(betas))
    holdings = [Holding("USDT", 50_000.0)]
    for asset in assets:
        price = market.spot[asset].price or 1.0
        holdings.append(Holding(asset, round(rng.uniform(5_000, 50_000) / price, 6)))
    positions = []
    for i in range(n_positions):
        asset = rng.choice(assets)
        dated = rng.random() < 0.3
        symbol = f"{asset}/USDT:USDT" + ("-261225" if dated else "")
        mark = market.contracts[symbol].mark or 1.0
        # Log-uniform notionals from $1k to $2M: every tier gets used.
        notional = 10 ** rng.uniform(3, 6.3)
        size = round(notional / mark, 6) or 1e-6
        basis = dated and rng.random() < 0.5
        book = "alpha" if basis or rng.random() < 0.5 else "hedge"
        side = "short" if basis or (book == "hedge" and rng.random() < 0.9) else "long"
        cross = rng.random() < 0.4
        leverage = float(rng.choice((1, 2, 3, 5, 10, 20)))
        positions.append(
            Position(
                id=f"p{i:06d}",
                book=book,
                symbol=symbol,
                side=side,
                size=size,
                entry_price=round(mark * (1 + rng.uniform(-0.05, 0.05)), 6),
                leverage=leverage,
                margin_mode="cross" if cross else "isolated",
                margin_usd=None if cross or rng.random() < 0.5 else round(notional / leverage, 2),
                kind="basis" if basis else "future",
                spot_qty=size if basis else 0.0,
            )
        )
    collateral = sum(
        p.size * p.entry_price / p.leverage for p in positions if p.margin_mode == "cross"
    )
    portfolio = Portfolio(
        collateral_usd=round(collateral, 2),
        holdings=tuple(holdings),
        positions=tuple(positions),
    )
    return Book(portfolio, market, settings)


def edit_size(portfolio: Portfolio, index: int, factor: float) -> Portfolio:
    """The portfolio with position `index`'s size scaled: one field, one row changed.

    Built the way an edit builds it (a new positions tuple sharing every other
    Position object), without the id search so the timing is the engine's.
    """
    positions = list(portfolio.positions)
    old = positions[index]
    positions[index] = replace(old, size=old.size * factor)
    return replace(portfolio, positions=tuple(positions))


def moved_market(market: MarketState, rng: random.Random, step: float = 0.0005) -> MarketState:
    """The next tick: every spot and mark moved by a small random step, clock +100 ms."""
    clock = market.clock_ms + 100
    spot = {
        a: replace(q, price=(q.price or 1.0) * (1 + rng.uniform(-step, step)), ts_ms=clock)
        for a, q in market.spot.items()
    }
    contracts = {
        s: replace(q, mark=(q.mark or 1.0) * (1 + rng.uniform(-step, step)), ts_ms=clock)
        for s, q in market.contracts.items()
    }
    return replace(market, clock_ms=clock, spot=frozen_map(spot), contracts=frozen_map(contracts))
