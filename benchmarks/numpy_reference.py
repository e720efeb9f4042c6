"""A straightforward hand-written numpy version of the engine's per-position maths.

It is the yardstick for `compute()`: the same figures (deltas, uPnL, tiered
maintenance now and under the shock, isolated and cross liquidation prices,
distance to liquidation, funding, per-asset sums and totals) from arrays that
were built once, the way a hand-tuned engine would keep them. The market
arrays are gathered per position on every call, as prices change every tick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.generate import Book


@dataclass(frozen=True)
class Arrays:
    """Static per-position and per-contract arrays of a Book."""

    sign: np.ndarray
    size: np.ndarray
    entry: np.ndarray
    leverage: np.ndarray
    wallet: np.ndarray
    cross: np.ndarray
    hedge: np.ndarray
    spot_qty: np.ndarray
    contract: np.ndarray  # contract index of each position
    asset: np.ndarray  # asset index of each position
    n_assets: int
    mark: np.ndarray  # per contract
    funding: np.ndarray  # per contract, NaN for dated futures
    tier_min: np.ndarray  # per tier x contract
    tier_mmr: np.ndarray
    tier_cum: np.ndarray
    spot: np.ndarray  # per asset
    beta: np.ndarray  # per asset
    collateral: float


def arrays_of(book: Book) -> Arrays:
    """Lay a generated book out as numpy arrays (not timed: done once per book)."""
    market, settings = book.market, book.settings
    symbols = list(market.contracts)
    contract_of = {s: i for i, s in enumerate(symbols)}
    assets = list(market.spot)
    asset_of = {a: i for i, a in enumerate(assets)}
    positions = book.portfolio.positions
    n_tiers = max(len(t) for t in market.tiers.values())

    def padded(values: list[list[float]], fill: float) -> np.ndarray:
        return np.array([v + [fill] * (n_tiers - len(v)) for v in values]).T.copy()

    tiers = [market.tiers[s] for s in symbols]
    return Arrays(
        sign=np.array([p.sign for p in positions], dtype=np.float64),
        size=np.array([p.size for p in positions]),
        entry=np.array([p.entry_price for p in positions]),
        leverage=np.array([p.leverage for p in positions]),
        wallet=np.array(
            [0.0 if p.margin_mode == "cross" else p.isolated_margin() for p in positions]
        ),
        cross=np.array([p.margin_mode == "cross" for p in positions]),
        hedge=np.array([p.book == "hedge" for p in positions]),
        spot_qty=np.array([p.spot_qty if p.kind == "basis" else 0.0 for p in positions]),
        contract=np.array([contract_of[p.symbol] for p in positions], dtype=np.int64),
        asset=np.array([asset_of[p.base] for p in positions], dtype=np.int64),
        n_assets=len(assets),
        mark=np.array([market.contracts[s].mark for s in symbols]),
        funding=np.array(
            [np.nan if (r := market.contracts[s].funding_rate) is None else r for s in symbols]
        ),
        tier_min=padded([[t.min_notional for t in ts] for ts in tiers], np.inf),
        tier_mmr=padded([[t.mmr for t in ts] for ts in tiers], 0.0),
        tier_cum=padded([[t.cum for t in ts] for ts in tiers], 0.0),
        spot=np.array([market.spot[a].price for a in assets]),
        beta=np.array([1.0 if a == "BTC" else float(settings.betas.get(a, 1.0)) for a in assets]),
        collateral=book.portfolio.collateral_usd,
    )


def _tier(a: Arrays, notional: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mmr, cum) of the highest tier whose floor the notional reaches."""
    c = a.contract
    mmr, cum = a.tier_mmr[0][c], a.tier_cum[0][c]
    for k in range(1, len(a.tier_min)):
        reached = notional >= a.tier_min[k][c]
        mmr = np.where(reached, a.tier_mmr[k][c], mmr)
        cum = np.where(reached, a.tier_cum[k][c], cum)
    return mmr, cum


def _liquidation(a: Arrays, wallet: np.ndarray, mmr: np.ndarray, cum: np.ndarray) -> np.ndarray:
    denominator = a.size * mmr - a.sign * a.size
    with np.errstate(divide="ignore", invalid="ignore"):
        price = (wallet + cum - a.sign * a.size * a.entry) / denominator
    return np.where((denominator != 0) & (price > 0), price, np.nan)


def compute_reference(a: Arrays, shock: float = 0.0) -> dict[str, object]:
    """Per-position figures, per-asset sums and totals (NaN where the engine has None)."""
    mark = a.mark[a.contract]
    notional = a.size * mark
    delta = a.sign * notional
    upnl = (mark - a.entry) * a.size * a.sign
    initial = notional / a.leverage
    mmr, cum = _tier(a, notional)
    mm = np.maximum(notional * mmr - cum, 0.0)
    beta = a.beta[a.asset]
    shocked_mark = mark * (1 + np.maximum(shock * beta, -1.0))
    shocked_notional = a.size * shocked_mark
    s_mmr, s_cum = _tier(a, shocked_notional)
    shocked_mm = np.maximum(shocked_notional * s_mmr - s_cum, 0.0)
    shocked_upnl = (shocked_mark - a.entry) * a.size * a.sign

    cross_mm = mm[a.cross].sum()
    cross_upnl = upnl[a.cross].sum()
    cross_wallet = a.collateral - (cross_mm - mm) + (cross_upnl - upnl)
    wallet = np.where(a.cross, cross_wallet, a.wallet)
    liquidation = _liquidation(a, wallet, mmr, cum)
    with np.errstate(invalid="ignore"):
        distance = np.abs(mark - liquidation) / mark * 100.0
    cross_breached = shocked_mm[a.cross].sum() >= a.collateral + shocked_upnl[a.cross].sum()
    liquidated = np.where(a.cross, cross_breached, shocked_mm >= a.wallet + shocked_upnl)
    funding = -a.sign * notional * a.funding[a.contract]

    spot_leg = a.spot_qty * a.spot[a.asset]
    per_asset_delta = np.bincount(a.asset, delta, a.n_assets)
    per_asset_spot_leg = np.bincount(a.asset, spot_leg, a.n_assets)
    per_asset_hedge = np.bincount(a.asset, np.where(a.hedge, delta, 0.0), a.n_assets)
    return {
        "notional_usd": notional,
        "delta_usd": delta,
        "unrealized_pnl_usd": upnl,
        "initial_margin_usd": initial,
        "maintenance_margin_usd": mm,
        "liquidation_price": liquidation,
        "distance_to_liquidation_pct": distance,
        "funding_usd_per_period": funding,
        "liquidated": liquidated,
        "asset_delta_usd": per_asset_delta,
        "asset_spot_leg_usd": per_asset_spot_leg,
        "asset_hedge_usd": per_asset_hedge,
        "unrealized_pnl_total": float(upnl.sum()),
        "maintenance_total": float(mm.sum()),
        "shocked_upnl_total": float(shocked_upnl.sum()),
        "shocked_mm_total": float(shocked_mm.sum()),
        "gross_futures_usd": float(np.abs(delta).sum()),
    }
