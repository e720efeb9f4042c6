"""Shared builders for tests: small markets and portfolios with exact prices."""

from __future__ import annotations

import pytest

from core.margin import with_maintenance_amounts
from core.model import ContractQuote, MarketState, SpotQuote, Tier, frozen_map

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
