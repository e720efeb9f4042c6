"""Realised funding from the local ledger beside each position's price P&L.

The ledger is per venue and contract (one-way mode holds one position per contract
and venue); rows of the book on the same contract share its total.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.model import MarketState, Portfolio
from core.report import Report


@dataclass(frozen=True)
class FundingBesidePnl:
    venue: str
    symbol: str
    position_ids: tuple[str, ...]
    price_pnl_usd: float  # unrealized P&L of those positions at the mark
    funding_usd: float  # realised funding in the ledger: + received, - paid
    payments: int


def funding_beside_pnl(
    report: Report, portfolio: Portfolio, market: MarketState, totals: pl.DataFrame
) -> tuple[FundingBesidePnl, ...]:
    """One row per (venue, contract) of the book, in book order; `totals` is
    core.ledger.funding_totals (venue, symbol, amount, payments)."""
    by_contract = {
        (venue, symbol): (amount, payments)
        for venue, symbol, amount, payments in totals.select(
            "venue", "symbol", "amount", "payments"
        ).iter_rows()
    }
    venue_of = {p.id: p.venue or market.exchange for p in portfolio.positions}
    rows: dict[tuple[str, str], tuple[list[str], float]] = {}
    for p in report.positions:
        key = (venue_of.get(p.id, market.exchange), p.symbol)
        ids, pnl = rows.get(key, ([], 0.0))
        ids.append(p.id)
        rows[key] = (ids, pnl + p.unrealized_pnl_usd)
    out = []
    for (venue, symbol), (ids, pnl) in rows.items():
        amount, payments = by_contract.get((venue, symbol), (0.0, 0))
        out.append(FundingBesidePnl(venue, symbol, tuple(ids), pnl, float(amount), int(payments)))
    return tuple(out)
