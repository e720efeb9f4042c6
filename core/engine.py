"""compute(portfolio, market, shock) -> Report: the risk engine (polars inside).

Per-position maths runs as polars expressions over one denormalised frame
(prices, betas and padded leverage tiers already on each row); per-asset sums
are one group_by. Scalar references of the margin formulas live in
core.margin and the tests check the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from core.model import MarketState, Portfolio, Settings, Tier
from core.report import (
    Allocation,
    AssetRow,
    BasisRow,
    HoldingRow,
    Report,
    Scenario,
    Totals,
)

DAY_MS = 86_400_000


class UnsupportedContractError(ValueError):
    """A contract the engine refuses to price (e.g. inverse, coin-settled)."""


@dataclass(frozen=True)
class _Beta:
    value: float
    assumed: bool


def _beta(asset: str, settings: Settings) -> _Beta:
    if asset in settings.stablecoins:
        return _Beta(0.0, False)
    if asset == "BTC":
        return _Beta(1.0, False)
    if asset in settings.betas:
        return _Beta(float(settings.betas[asset]), False)
    return _Beta(1.0, True)


def _health(margin_ratio: float | None, settings: Settings) -> str:
    if margin_ratio is None or margin_ratio >= settings.margin_ratio_danger:
        return "danger"
    if margin_ratio >= settings.margin_ratio_warn:
        return "warn"
    return "ok"


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator; 0 when nothing is at risk, None when undefined."""
    if numerator == 0:
        return 0.0
    if denominator <= 0:
        return None
    ratio = numerator / denominator
    # A balance of a few 1e-300 dollars overflows: as undefined as no balance at all.
    return ratio if math.isfinite(ratio) else None


def _pct_of(part: float, whole: float) -> float | None:
    """part / whole in percent; None when whole is not positive or the share overflows."""
    if whole <= 0:
        return None
    share = part / whole * 100.0
    return share if math.isfinite(share) else None


def _tier_expressions(notional: pl.Expr, n_tiers: int, prefix: str = "") -> tuple[pl.Expr, pl.Expr]:
    """(mmr, cum) of the highest tier whose floor the notional reaches."""
    mmr: pl.Expr = pl.col("t_mmr_0")
    cum: pl.Expr = pl.col("t_cum_0")
    for k in range(1, n_tiers):
        reached = notional >= pl.col(f"t_min_{k}")
        mmr = pl.when(reached).then(pl.col(f"t_mmr_{k}")).otherwise(mmr)
        cum = pl.when(reached).then(pl.col(f"t_cum_{k}")).otherwise(cum)
    return mmr.alias(f"{prefix}mmr"), cum.alias(f"{prefix}cum")


def _liquidation_expr(wallet: pl.Expr) -> pl.Expr:
    """Binance one-way linear LP; null where no positive price liquidates."""
    sign = pl.col("sign")
    size = pl.col("size")
    denominator = size * pl.col("mmr") - sign * size
    price = (wallet + pl.col("cum") - sign * size * pl.col("entry_price")) / denominator
    return pl.when((denominator != 0) & (price > 0)).then(price).otherwise(None)


def _is_inverse(symbol: str) -> bool:
    """'BTC/USD:BTC' settles in its base asset: a coin-settled (inverse) contract."""
    base, _, rest = symbol.partition("/")
    return rest.partition(":")[2].split("-", 1)[0] == base


def _position_frame(
    portfolio: Portfolio, market: MarketState, settings: Settings, warnings: list[str]
) -> tuple[pl.DataFrame, int]:
    """One row per futures position with market data and padded tiers."""
    default_tier = (Tier(0.0, math.inf, settings.default_mmr, None, 0.0),)
    columns: dict[str, list] = {
        name: []
        for name in (
            "id book kind symbol asset sign side size entry_price leverage margin_mode "
            "cross wallet spot_qty mark_price spot_price beta is_swap funding_rate "
            "funding_interval_h days_to_expiry stale tier_source"
        ).split()
    }
    tier_rows: list[tuple[Tier, ...]] = []
    defaulted: set[str] = set()
    for p in portfolio.positions:
        quote = market.contracts.get(p.symbol)
        # Without a quote the symbol is the only clue; an inverse contract priced as
        # linear would be silently wrong, so both paths refuse it.
        if (quote is not None and not quote.linear) or (quote is None and _is_inverse(p.symbol)):
            raise UnsupportedContractError(
                f"position {p.id}: {p.symbol} is an inverse (coin-settled) contract; "
                "only linear USDT/USDC-settled contracts are supported"
            )
        asset = p.base
        spot_price = market.spot_price(asset)
        if p.kind == "basis" and spot_price is None:
            warnings.append(f"no spot price for {asset}: the spot leg of {p.id} is valued at 0")
        mark = quote.mark if quote else None
        stale = quote is None or market.is_stale(quote.ts_ms)
        if mark is None:
            mark = spot_price if spot_price is not None else p.entry_price
            source = "spot price" if spot_price is not None else "entry price"
            warnings.append(f"no mark price for {p.symbol}: {p.id} valued at its {source}")
            stale = True
        tiers = market.tiers.get(p.symbol)
        if not tiers:
            tiers = default_tier
            defaulted.add(p.symbol)
        tier_rows.append(tiers)
        is_swap = quote.kind == "swap" if quote else "-" not in p.symbol.split(":")[-1]
        expiry = quote.expiry_ms if quote else None
        interval = (quote.funding_interval_h if quote else None) or settings.funding_interval_h
        beta = _beta(asset, settings)
        cross = p.margin_mode == "cross"
        row = {
            "id": p.id,
            "book": p.book,
            "kind": p.kind,
            "symbol": p.symbol,
            "asset": asset,
            "sign": p.sign,
            "side": p.side,
            "size": p.size,
            "entry_price": p.entry_price,
            "leverage": p.leverage,
            "margin_mode": p.margin_mode,
            "cross": cross,
            "wallet": 0.0 if cross else p.isolated_margin(),
            "spot_qty": p.spot_qty if p.kind == "basis" else 0.0,
            "mark_price": mark,
            "spot_price": spot_price,
            "beta": beta.value,
            "is_swap": is_swap,
            "funding_rate": quote.funding_rate if quote and is_swap else None,
            "funding_interval_h": interval,
            "days_to_expiry": (expiry - market.clock_ms) / DAY_MS if expiry else None,
            "stale": stale,
            "tier_source": "default" if p.symbol in defaulted else "tiers",
        }
        for name, value in row.items():
            columns[name].append(value)
    for symbol in sorted(defaulted):
        warnings.append(
            f"no leverage tiers for {symbol}: default maintenance rate "
            f"{settings.default_mmr:.2%} used"
        )
    n_tiers = max((len(t) for t in tier_rows), default=1)
    for k in range(n_tiers):
        columns[f"t_min_{k}"] = [t[k].min_notional if k < len(t) else math.inf for t in tier_rows]
        columns[f"t_mmr_{k}"] = [t[k].mmr if k < len(t) else 0.0 for t in tier_rows]
        columns[f"t_cum_{k}"] = [t[k].cum if k < len(t) else 0.0 for t in tier_rows]
    schema = {
        **{name: pl.String for name in ("id", "book", "kind", "symbol", "asset", "side")},
        **{name: pl.String for name in ("margin_mode", "tier_source")},
        **{name: pl.Boolean for name in ("cross", "is_swap", "stale")},
        "sign": pl.Int8,
        "size": pl.Float64,
        "entry_price": pl.Float64,
        "leverage": pl.Float64,
        "wallet": pl.Float64,
        "spot_qty": pl.Float64,
        "mark_price": pl.Float64,
        "spot_price": pl.Float64,
        "beta": pl.Float64,
        "funding_rate": pl.Float64,
        "funding_interval_h": pl.Float64,
        "days_to_expiry": pl.Float64,
    }
    for k in range(n_tiers):
        schema[f"t_min_{k}"] = pl.Float64
        schema[f"t_mmr_{k}"] = pl.Float64
        schema[f"t_cum_{k}"] = pl.Float64
    frame = pl.DataFrame(columns, schema_overrides=schema)
    return frame, n_tiers


def _evaluate_positions(
    frame: pl.DataFrame, n_tiers: int, collateral: float, shock: float
) -> pl.DataFrame:
    """Per-position figures now and under the shock (move = shock x beta)."""
    notional = pl.col("size") * pl.col("mark_price")
    # A price cannot fall below zero: a move of beta x shock is capped at -100 %.
    shocked_mark = pl.col("mark_price") * (1 + (shock * pl.col("beta")).clip(lower_bound=-1.0))
    frame = frame.with_columns(
        notional.alias("notional_usd"),
        (pl.col("sign") * notional).alias("delta_usd"),
        # + 0.0 turns the -0.0 of an unmoved short into 0.0
        (
            (pl.col("mark_price") - pl.col("entry_price")) * pl.col("size") * pl.col("sign") + 0.0
        ).alias("unrealized_pnl_usd"),
        (notional / pl.col("leverage")).alias("initial_margin_usd"),
        shocked_mark.alias("shocked_mark"),
        (pl.col("spot_qty") * pl.col("spot_price").fill_null(0.0)).alias("spot_leg_usd"),
    )
    mmr, cum = _tier_expressions(pl.col("notional_usd"), n_tiers)
    s_mmr, s_cum = _tier_expressions(
        pl.col("size") * pl.col("shocked_mark"), n_tiers, prefix="shocked_"
    )
    frame = frame.with_columns(mmr, cum, s_mmr, s_cum)
    frame = frame.with_columns(
        (pl.col("notional_usd") * pl.col("mmr") - pl.col("cum"))
        .clip(lower_bound=0.0)
        .alias("maintenance_margin_usd"),
        (pl.col("size") * pl.col("shocked_mark") * pl.col("shocked_mmr") - pl.col("shocked_cum"))
        .clip(lower_bound=0.0)
        .alias("shocked_mm"),
        ((pl.col("shocked_mark") - pl.col("entry_price")) * pl.col("size") * pl.col("sign")).alias(
            "shocked_upnl"
        ),
    )
    cross_mm = pl.col("maintenance_margin_usd").filter(pl.col("cross")).sum()
    cross_upnl = pl.col("unrealized_pnl_usd").filter(pl.col("cross")).sum()
    cross_wallet = (
        pl.lit(collateral)
        - (cross_mm - pl.col("maintenance_margin_usd"))
        + (cross_upnl - pl.col("unrealized_pnl_usd"))
    )
    liquidation = (
        pl.when(pl.col("cross"))
        .then(_liquidation_expr(cross_wallet))
        .otherwise(_liquidation_expr(pl.col("wallet")))
    )
    shocked_cross_mm = pl.col("shocked_mm").filter(pl.col("cross")).sum()
    shocked_cross_upnl = pl.col("shocked_upnl").filter(pl.col("cross")).sum()
    cross_breached = shocked_cross_mm >= pl.lit(collateral) + shocked_cross_upnl
    isolated_breached = pl.col("shocked_mm") >= pl.col("wallet") + pl.col("shocked_upnl")
    period_factor = 24.0 / pl.col("funding_interval_h") * 365.0
    funding_apr = pl.col("funding_rate") * period_factor * 100.0
    annualized_basis = (
        pl.when(pl.col("spot_price") > 0)
        .then(pl.col("mark_price") / pl.col("spot_price") - 1.0)
        .otherwise(None)
        * 100.0
        * 365.0
        / pl.col("days_to_expiry")
    )
    carry = (
        pl.when(pl.col("is_swap"))
        .then(-pl.col("sign") * funding_apr)
        .when(pl.col("days_to_expiry") > 0)
        .then(-pl.col("sign") * annualized_basis)
        .otherwise(None)
    )
    frame = frame.with_columns(
        liquidation.alias("liquidation_price"),
        pl.when(pl.col("cross"))
        .then(cross_breached)
        .otherwise(isolated_breached)
        .alias("liquidated"),
        (-pl.col("sign") * pl.col("notional_usd") * pl.col("funding_rate")).alias(
            "funding_usd_per_period"
        ),
        carry.alias("carry_apr_pct"),
        pl.when(pl.col("cross"))
        .then(pl.col("initial_margin_usd"))
        .otherwise(pl.col("wallet"))
        .alias("margin_usd"),
        pl.col("mmr").alias("maintenance_margin_rate"),
    )
    return frame.with_columns(
        pl.when(pl.col("mark_price") > 0)
        .then((pl.col("mark_price") - pl.col("liquidation_price")).abs() / pl.col("mark_price"))
        .otherwise(None)
        .mul(100.0)
        .alias("distance_to_liquidation_pct"),
    )


def _basis_rows(market: MarketState, settings: Settings) -> tuple[BasisRow, ...]:
    rows = []
    ordered = sorted(
        market.contracts.values(),
        key=lambda q: (q.base, q.kind != "swap", q.expiry_ms or 0, q.symbol),
    )
    for quote in ordered:
        spot_quote = market.spot.get(quote.base)
        spot = spot_quote.price if spot_quote else None
        futures = quote.mark
        basis = basis_pct = annualized = days = None
        if spot and futures:
            basis = futures - spot
            basis_pct = (futures / spot - 1.0) * 100.0
        if quote.kind == "future" and quote.expiry_ms:
            days = (quote.expiry_ms - market.clock_ms) / DAY_MS
            if basis_pct is not None and days > 0:
                annualized = basis_pct * 365.0 / days
        funding_apr = None
        if quote.kind == "swap" and quote.funding_rate is not None:
            interval = quote.funding_interval_h or settings.funding_interval_h
            funding_apr = quote.funding_rate * 24.0 / interval * 365.0 * 100.0
        stale = market.is_stale(quote.ts_ms) or (
            spot_quote is None or market.is_stale(spot_quote.ts_ms)
        )
        rows.append(
            BasisRow(
                symbol=quote.symbol,
                asset=quote.base,
                kind=quote.kind,
                spot=spot,
                futures=futures,
                basis=basis,
                basis_pct=basis_pct,
                annualized_pct=annualized,
                days_to_expiry=days,
                funding_rate=quote.funding_rate if quote.kind == "swap" else None,
                funding_apr_pct=funding_apr,
                next_funding_ms=quote.next_funding_ms if quote.kind == "swap" else None,
                stale=stale,
            )
        )
    return tuple(rows)


def _sum(frame: pl.DataFrame, column: str, mask: pl.Expr | None = None) -> float:
    if frame.height == 0:
        return 0.0
    series = frame.filter(mask)[column] if mask is not None else frame[column]
    return float(series.sum() or 0.0)


def _allocation(pct: float | None, band: Sequence[float]) -> Allocation:
    low, high = float(band[0]), float(band[1])
    in_band = pct is not None and low <= pct <= high
    return Allocation(pct=pct, band=(low, high), in_band=in_band)


def compute(
    portfolio: Portfolio,
    market: MarketState,
    shock_pct: float = 0.0,
    settings: Settings | None = None,
) -> Report:
    """Every figure of the design for this portfolio, market and what-if shock."""
    settings = settings or Settings()
    warnings: list[str] = []
    shock = shock_pct / 100.0
    stables = set(settings.stablecoins)

    # Spot book (core holdings): small, so plain Python.
    holding_values: list[tuple] = []
    for h in portfolio.holdings:
        quote = market.spot.get(h.asset)
        price = quote.price if quote else None
        stable = h.asset in stables
        stale = False
        if price is None:
            if stable:
                price = 1.0
            else:
                warnings.append(f"no spot price for {h.asset}: its holding is valued at 0")
                stale = True
        elif quote is not None:
            stale = market.is_stale(quote.ts_ms)
        holding_values.append((h, price, stable, stale))

    frame, n_tiers = _position_frame(portfolio, market, settings, warnings)
    frame = _evaluate_positions(frame, n_tiers, portfolio.collateral_usd, shock)

    spot_value = sum(h.qty * (price or 0.0) for h, price, _, _ in holding_values)
    core_value = sum(h.qty * (price or 0.0) for h, price, stable, _ in holding_values if not stable)
    spot_legs = _sum(frame, "spot_leg_usd")
    isolated_margin = _sum(frame, "wallet")
    upnl = _sum(frame, "unrealized_pnl_usd")
    maintenance = _sum(frame, "maintenance_margin_usd")
    equity = spot_value + spot_legs + portfolio.collateral_usd + isolated_margin + upnl
    margin_ratio = _ratio(maintenance, portfolio.collateral_usd + isolated_margin + upnl)

    # Per-asset exposure: core spot, basis spot legs and futures deltas.
    exposure_rows: dict[str, list[float]] = {}
    for h, price, stable, _ in holding_values:
        if stable:
            continue
        row = exposure_rows.setdefault(h.asset, [0.0, 0.0, 0.0, 0.0])
        row[0] += h.qty * (price or 0.0)
        row[3] += h.qty * (price or 0.0)
    if frame.height:
        per_asset = (
            frame.filter(~pl.col("asset").is_in(list(stables)))
            .group_by("asset")
            .agg(
                pl.col("spot_leg_usd").sum(),
                pl.col("delta_usd").sum(),
                pl.col("delta_usd").filter(pl.col("book") == "hedge").sum().alias("hedge_usd"),
            )
        )
        for asset, spot_leg, delta, hedge in per_asset.iter_rows():
            row = exposure_rows.setdefault(asset, [0.0, 0.0, 0.0, 0.0])
            row[0] += spot_leg
            row[1] += delta
            row[2] += hedge
    assets = []
    hedge_ratio_of: dict[str, float | None] = {}
    for asset in sorted(exposure_rows, key=lambda a: (a != "BTC", a)):
        spot_usd, futures_usd, hedge_usd, core_spot = exposure_rows[asset]
        beta = _beta(asset, settings)
        hedge_ratio = (0.0 - hedge_usd) / core_spot if core_spot else None
        hedge_ratio_of[asset] = hedge_ratio
        net = spot_usd + futures_usd
        assets.append(
            AssetRow(
                asset=asset,
                spot_usd=spot_usd,
                futures_usd=futures_usd,
                net_usd=net,
                beta=beta.value,
                beta_assumed=beta.assumed,
                beta_weighted_usd=net * beta.value,
                hedge_ratio=hedge_ratio,
            )
        )
        if beta.assumed:
            warnings.append(f"no beta for {asset} in config: assumed 1.0")
    net_exposure = sum((a.net_usd for a in assets), 0.0)
    gross = sum(abs(a.spot_usd) for a in assets) + _sum(
        frame.with_columns(pl.col("delta_usd").abs()),
        "delta_usd",
        ~pl.col("asset").is_in(list(stables)),
    )
    beta_weighted = sum((a.beta_weighted_usd for a in assets), 0.0)

    if frame.height:
        frame = frame.with_columns(
            pl.col("asset")
            .replace_strict(hedge_ratio_of, default=None, return_dtype=pl.Float64)
            .alias("hedge_ratio")
        )
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("hedge_ratio"))

    holdings = tuple(
        HoldingRow(
            asset=h.asset,
            qty=h.qty,
            price=price,
            value_usd=h.qty * (price or 0.0),
            weight_pct=_pct_of(h.qty * (price or 0.0), equity),
            beta=_beta(h.asset, settings).value,
            beta_assumed=_beta(h.asset, settings).assumed,
            change_24h_pct=(
                market.spot[h.asset].change_24h_pct if h.asset in market.spot else None
            ),
            stable=stable,
            stale=stale,
            cost_usd=h.cost_usd,
            pnl_usd=(h.qty * price - h.cost_usd) if (h.cost_usd is not None and price) else None,
        )
        for h, price, stable, stale in holding_values
    )

    hedge_notional = _sum(frame, "notional_usd", pl.col("book") == "hedge")
    alpha_margin = _sum(frame, "margin_usd", pl.col("book") == "alpha") + _sum(
        frame, "spot_leg_usd", pl.col("book") == "alpha"
    )
    bands = settings.bands
    allocation = {
        "core": _allocation(_pct_of(core_value, equity), bands["core"]),
        "hedge": _allocation(
            _pct_of(hedge_notional, core_value)
            if core_value > 0
            else (0.0 if not hedge_notional else None),
            bands["hedge"],
        ),
        "alpha": _allocation(_pct_of(alpha_margin, equity), bands["alpha"]),
    }

    # Scenario: BTC moves by s, every other asset by beta x s (stablecoins: 0); like the
    # futures marks, no price falls below zero, so a move is capped at -100 %.
    spot_pnl = sum(
        h.qty * (price or 0.0) * max(shock * _beta(h.asset, settings).value, -1.0)
        for h, price, _, _ in holding_values
    )
    spot_pnl += _sum(
        frame.with_columns(
            pl.col("spot_leg_usd") * (pl.col("beta") * shock).clip(lower_bound=-1.0)
        ),
        "spot_leg_usd",
    )
    shocked_upnl = _sum(frame, "shocked_upnl")
    futures_pnl = shocked_upnl - upnl
    shocked_equity = equity + spot_pnl + futures_pnl
    shocked_ratio = _ratio(
        _sum(frame, "shocked_mm"), portfolio.collateral_usd + isolated_margin + shocked_upnl
    )
    liquidated = tuple(frame.filter(pl.col("liquidated"))["id"].to_list()) if frame.height else ()
    scenario = Scenario(
        shock_pct=shock_pct,
        pnl_usd=spot_pnl + futures_pnl,
        equity=shocked_equity,
        margin_ratio=shocked_ratio,
        health=_health(shocked_ratio, settings),
        liquidated=liquidated,
    )

    totals = Totals(
        equity=equity,
        net_exposure_usd=net_exposure,
        net_exposure_pct=_pct_of(net_exposure, equity),
        beta_weighted_exposure_usd=beta_weighted,
        gross_exposure_usd=gross,
        margin_ratio=margin_ratio,
        health=_health(margin_ratio, settings),
        spot_value_usd=spot_value + spot_legs,
        collateral_usd=portfolio.collateral_usd,
        isolated_margin_usd=isolated_margin,
        unrealized_pnl_usd=upnl,
        initial_margin_usd=_sum(frame, "initial_margin_usd"),
        maintenance_margin_usd=maintenance,
        funding_usd_per_period=float(frame["funding_usd_per_period"].fill_null(0.0).sum())
        if frame.height
        else 0.0,
    )
    return Report(
        totals=totals,
        holdings=holdings,
        assets=tuple(assets),
        basis=_basis_rows(market, settings),
        allocation=allocation,
        scenario=scenario,
        warnings=tuple(dict.fromkeys(warnings)),
        clock_ms=market.clock_ms,
        feed_status=market.status,
        note=market.note,
        position_frame=frame,
        liquidated_in_scenario=frozenset(liquidated),
    )
