"""Tiered maintenance margin and Binance-style liquidation prices (scalar maths).

The engine vectorises the same formulas; these scalar versions are the
reference the tests check against worked numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.model import Tier


def with_maintenance_amounts(tiers: Sequence[Tier]) -> tuple[Tier, ...]:
    """Tiers sorted by floor with Binance's maintenance amount filled in.

    cum_1 = 0; cum_n = cum_{n-1} + min_notional_n * (mmr_n - mmr_{n-1}).
    """
    ordered = sorted(tiers, key=lambda t: t.min_notional)
    result: list[Tier] = []
    cum = 0.0
    previous_mmr = None
    for tier in ordered:
        if previous_mmr is not None:
            cum += tier.min_notional * (tier.mmr - previous_mmr)
        previous_mmr = tier.mmr
        result.append(Tier(tier.min_notional, tier.max_notional, tier.mmr, tier.max_leverage, cum))
    return tuple(result)


def tier_for(tiers: Sequence[Tier], notional: float) -> Tier:
    """The tier whose [min, max) notional range holds `notional` (last tier above)."""
    chosen = tiers[0]
    for tier in tiers:
        if notional >= tier.min_notional:
            chosen = tier
        else:
            break
    return chosen


def maintenance_margin(notional: float, tier: Tier) -> float:
    """notional x mmr - maintenance amount of the tier (never below zero)."""
    return max(notional * tier.mmr - tier.cum, 0.0)


def liquidation_price(
    side_sign: int,
    size: float,
    entry_price: float,
    wallet_balance: float,
    tier: Tier,
    other_maintenance: float = 0.0,
    other_upnl: float = 0.0,
) -> float | None:
    """Binance one-way linear liquidation price.

    Isolated: wallet_balance is the position's margin, others are zero.
    Cross: wallet_balance is the cross wallet; other_* are the maintenance
    margin and uPnL of the other cross positions. None when no price in
    (0, inf) liquidates the position.
    """
    denominator = size * tier.mmr - side_sign * size
    if size <= 0 or denominator == 0:
        return None
    numerator = (
        wallet_balance - other_maintenance + other_upnl + tier.cum - side_sign * size * entry_price
    )
    price = numerator / denominator
    if price <= 0:
        return None
    return price


def liquidation_price_at_tier(
    side_sign: int,
    size: float,
    entry_price: float,
    wallet_balance: float,
    tiers: Sequence[Tier],
    other_maintenance: float = 0.0,
    other_upnl: float = 0.0,
) -> float | None:
    """Binance's rule: the liquidation price computed with the tier that the notional
    AT the liquidation price falls in. Each tier is tried in turn and the one whose
    [floor, cap) holds size x LP is kept (unique, as MM is continuous at floors)."""
    ordered = sorted(tiers, key=lambda t: t.min_notional)
    for k, tier in enumerate(ordered):
        price = liquidation_price(
            side_sign, size, entry_price, wallet_balance, tier, other_maintenance, other_upnl
        )
        if price is None:
            continue
        floor = tier.min_notional if k else -math.inf
        cap = ordered[k + 1].min_notional if k + 1 < len(ordered) else math.inf
        notional = size * price
        if floor * (1 - 1e-12) <= notional < cap * (1 + 1e-12):
            return price
    return None


def margin_ratio(maintenance: float, balance: float) -> float | None:
    """Maintenance margin / margin balance (liquidation at 1.0): 0 with nothing at risk,
    None (undefined: danger) when the balance is <= 0 while MM > 0."""
    if maintenance == 0:
        return 0.0
    if balance <= 0:
        return None
    value = maintenance / balance
    return value if math.isfinite(value) else None


def is_liquidated(balance: float, maintenance: float) -> bool:
    """The exchange's test: balance <= MM while MM > 0, or a balance below zero."""
    return (balance <= maintenance and maintenance > 0) or balance < 0


def distance_to_liquidation(mark: float, liquidation: float | None) -> float | None:
    """|mark - LP| / mark, as a fraction; None without a liquidation price."""
    if liquidation is None or mark <= 0:
        return None
    return abs(mark - liquidation) / mark


def funding_apr_pct(funding_rate: float, interval_h: float) -> float:
    """A funding rate paid every `interval_h` hours, as % a year (0.01 % / 8 h -> 10.95)."""
    return funding_rate * (24.0 / interval_h * 365.0) * 100.0


def annualized_basis_pct(basis_pct: float, days_to_expiry: float) -> float:
    """A basis of `basis_pct` earned over `days_to_expiry`, as % a year (3 % / 91.25 d -> 12)."""
    return basis_pct * 365.0 / days_to_expiry
