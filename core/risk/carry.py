"""Carry board: per asset, spot and the whole term structure (perpetual funding APR,
each dated future's annualized basis), net of round-trip fees, with break-even days.

The carry is the long-spot / short-futures trade of the design: it earns the basis
of a dated future held to expiry, or the funding of a perpetual while held.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model import MarketState, Portfolio, venue_key
from core.report import BasisRow, Report
from core.risk.settings import RiskSettings

# A cash-and-carry fills four times: spot buy and futures sell to open, and the
# reverse to close (a dated future's settlement counted as a fill).
FILLS_PER_ROUND_TRIP = 4


@dataclass(frozen=True)
class SingleLeg:
    """A basis trade with a leg missing or unpriced."""

    position_id: str
    asset: str
    symbol: str
    reason: str


@dataclass(frozen=True)
class CarryLeg:
    symbol: str
    kind: str  # "swap" | "future"
    days_to_expiry: float | None
    basis_pct: float | None
    gross_apr_pct: float | None  # funding APR (perpetual) or annualized basis (dated)
    fees_pct: float  # round trip at taker, percent of notional
    fees_maker_pct: float  # the same at maker
    net_apr_pct: float | None
    net_apr_maker_pct: float | None
    break_even_days: float | None  # days of carry that pay the taker fees; None: never
    funding_eats_basis: bool
    stale: bool
    best: bool = False


@dataclass(frozen=True)
class CarryRow:
    asset: str
    spot: float | None
    legs: tuple[CarryLeg, ...]
    best_symbol: str | None
    single_legs: tuple[SingleLeg, ...]


def single_leg_trades(portfolio: Portfolio, market: MarketState) -> tuple[SingleLeg, ...]:
    """Basis trades whose spot leg or futures leg is missing: spot_qty 0, the future
    unquoted or expired, or no spot price for the asset."""
    found = []
    for p in portfolio.positions:
        if p.kind != "basis":
            continue
        quote = market.contracts.get(market.contract_key(p.symbol, p.venue))
        spot = market.spot_quote(p.base, p.venue)
        reason = ""
        if p.spot_qty <= 0:
            reason = "no spot leg (spot_qty 0)"
        elif quote is None or not quote.mark:
            reason = f"{p.symbol} is not quoted"
        elif quote.expiry_ms is not None and quote.expiry_ms <= market.clock_ms:
            reason = f"{p.symbol} has expired"
        elif spot is None or not spot.price:
            reason = f"no spot price for {p.base}"
        if reason:
            found.append(SingleLeg(p.id, p.base, p.symbol, reason))
    return tuple(found)


def carry_board(
    report: Report, portfolio: Portfolio, market: MarketState, risk: RiskSettings
) -> tuple[CarryRow, ...]:
    """One row per asset of the basis ticker, in its order (perpetual first, then expiries)."""
    singles = single_leg_trades(portfolio, market)
    by_asset: dict[str, list[BasisRow]] = {}
    for row in report.basis:
        by_asset.setdefault(row.asset, []).append(row)
    for leg in singles:
        by_asset.setdefault(leg.asset, [])
    rows = []
    for asset, basis_rows in by_asset.items():
        legs = [_leg(b, market, risk) for b in basis_rows]
        best = max(
            (leg for leg in legs if leg.net_apr_pct is not None and leg.net_apr_pct > 0),
            key=lambda leg: leg.net_apr_pct or 0.0,
            default=None,
        )
        if best is not None:
            legs = [
                CarryLeg(**{**leg.__dict__, "best": True}) if leg is best else leg for leg in legs
            ]
        spot = next((b.spot for b in basis_rows if b.spot is not None), None)
        if spot is None:
            spot = market.spot_price(asset)
        rows.append(
            CarryRow(
                asset=asset,
                spot=spot,
                legs=tuple(legs),
                best_symbol=best.symbol if best else None,
                single_legs=tuple(s for s in singles if s.asset == asset),
            )
        )
    return tuple(rows)


def _leg(row: BasisRow, market: MarketState, risk: RiskSettings) -> CarryLeg:
    fees = risk.fees_of(row.venue or market.exchange)
    fees_pct = FILLS_PER_ROUND_TRIP * fees.taker_pct
    fees_maker_pct = FILLS_PER_ROUND_TRIP * fees.maker_pct
    horizon = risk.carry_horizon_days
    gross = net = net_maker = break_even = None
    eats = False
    if row.kind == "future":
        days = row.days_to_expiry
        gross = row.annualized_pct
        if row.basis_pct is not None and days is not None and days > 0:
            # Held to expiry: the basis less the fees, over the days left.
            net = (row.basis_pct - fees_pct) * 365.0 / days
            net_maker = (row.basis_pct - fees_maker_pct) * 365.0 / days
            if row.basis_pct > 0:
                break_even = fees_pct / (row.basis_pct / days)
    elif row.funding_apr_pct is not None:
        gross = row.funding_apr_pct
        # No expiry: the one-off fees are spread over the carry horizon.
        net = gross - fees_pct * 365.0 / horizon
        net_maker = gross - fees_maker_pct * 365.0 / horizon
        if gross > 0:
            break_even = fees_pct / (gross / 365.0)
        # Negative funding: the short perpetual pays; over the horizon it can cost
        # more than the premium the trade was opened for.
        premium = row.basis_pct or 0.0
        eats = gross < 0 and premium + gross * horizon / 365.0 <= 0
    return CarryLeg(
        symbol=venue_key(row.symbol, market.venue_of(row.venue)),
        kind=row.kind,
        days_to_expiry=row.days_to_expiry,
        basis_pct=row.basis_pct,
        gross_apr_pct=gross,
        fees_pct=fees_pct,
        fees_maker_pct=fees_maker_pct,
        net_apr_pct=net,
        net_apr_maker_pct=net_maker,
        break_even_days=break_even,
        funding_eats_basis=eats,
        stale=row.stale,
    )
