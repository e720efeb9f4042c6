"""Shared builders for tests: small markets and portfolios with exact prices."""

from __future__ import annotations

import math

import pytest

from core.margin import (
    distance_to_liquidation,
    liquidation_price_at_tier,
    maintenance_margin,
    tier_for,
    with_maintenance_amounts,
)
from core.model import (
    ContractQuote,
    MarketState,
    Portfolio,
    Settings,
    SpotQuote,
    Tier,
    frozen_map,
)

CLOCK_MS = 1_800_000_000_000

# Binance BTCUSDT USD-M brackets (first three): floor, cap, maintenance rate, max leverage.
BTC_TIERS = with_maintenance_amounts(
    [
        Tier(0.0, 50_000.0, 0.004, 125),
        Tier(50_000.0, 600_000.0, 0.005, 100),
        Tier(600_000.0, 3_000_000.0, 0.0065, 75),
    ]
)


def make_market(
    spot: dict[str, float],
    marks: dict[str, float] | None = None,
    tiers: dict[str, tuple[Tier, ...]] | None = None,
    funding: dict[str, float] | None = None,
    expiries: dict[str, int] | None = None,
    clock_ms: int = CLOCK_MS,
) -> MarketState:
    """A fresh market: spot prices per asset, marks per contract symbol."""
    spot_quotes = {
        asset: SpotQuote(asset, f"{asset}/USDT", price, None, clock_ms)
        for asset, price in spot.items()
    }
    contracts = {}
    for symbol, mark in (marks or {}).items():
        expiry = (expiries or {}).get(symbol)
        contracts[symbol] = ContractQuote(
            symbol=symbol,
            base=symbol.split("/")[0],
            kind="future" if expiry else "swap",
            expiry_ms=expiry,
            mark=mark,
            funding_rate=(funding or {}).get(symbol),
            funding_interval_h=8.0,
            ts_ms=clock_ms,
        )
    return MarketState(
        clock_ms=clock_ms,
        spot=frozen_map(spot_quotes),
        contracts=frozen_map(contracts),
        tiers=frozen_map(tiers or {}),
    )


@pytest.fixture
def btc_tiers() -> tuple[Tier, ...]:
    return BTC_TIERS


def reference_figures(
    portfolio: Portfolio, market: MarketState, settings: Settings | None = None
) -> dict[str, dict[str, float | None]]:
    """Per-position figures from the scalar formulas of core.margin (the engine's reference).

    Marks come from the market (every position must have one); maintenance margin uses the
    tier the notional at mark falls in, the liquidation price the tier at the liquidation
    price; cross positions share the wallet with the others' maintenance margin and uPnL,
    per Binance's one-way formula.
    """
    settings = settings or Settings()
    default = (Tier(0.0, math.inf, settings.default_mmr),)
    rows: dict[str, dict[str, float | None]] = {}
    for p in portfolio.positions:
        mark = market.mark(p.symbol)
        assert mark is not None, f"reference needs a mark for {p.symbol}"
        notional = p.size * mark
        tier = tier_for(market.tiers.get(p.symbol) or default, notional)
        rows[p.id] = {
            "mark": mark,
            "notional": notional,
            "upnl": (mark - p.entry_price) * p.size * p.sign,
            "mm": maintenance_margin(notional, tier),
            "mmr": tier.mmr,
            "cum": tier.cum,
        }
    for p in portfolio.positions:
        row = rows[p.id]
        tiers = market.tiers.get(p.symbol) or default
        if p.margin_mode == "cross":
            others = [q for q in portfolio.positions if q.margin_mode == "cross" and q.id != p.id]
            lp = liquidation_price_at_tier(
                p.sign,
                p.size,
                p.entry_price,
                portfolio.collateral_usd,
                tiers,
                sum(rows[q.id]["mm"] for q in others),
                sum(rows[q.id]["upnl"] for q in others),
            )
        else:
            lp = liquidation_price_at_tier(
                p.sign, p.size, p.entry_price, p.isolated_margin(), tiers
            )
        row["liquidation_price"] = lp
        distance = distance_to_liquidation(row["mark"], lp)
        row["distance_pct"] = None if distance is None else distance * 100.0
    return rows
