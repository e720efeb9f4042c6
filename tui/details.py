"""The details page of one position: every figure the engine has for it."""

from __future__ import annotations

from typing import Any

from tui import format as fmt
from tui.text import escape


def position_details(p: Any, note: str = "", shock_pct: float = 0.0) -> str:
    """Markup of one PositionRow: sizes, margin, tier and liquidation (and its note)."""
    rows = [
        ("book / kind", f"{p.book} / {p.kind}"),
        ("contract", f"{p.symbol} ({p.margin_mode}, {p.leverage:.3g}x)"),
        ("side, size", f"{p.side} {fmt.qty(p.size)}"),
        (
            "entry → mark",
            f"{fmt.price(p.entry_price)} → {fmt.price(p.mark_price)}"
            + (" (stale)" if p.stale else ""),
        ),
        ("notional", f"{fmt.usd_cents(p.notional_usd)} $"),
        ("unrealized PnL", f"{fmt.usd_cents(p.unrealized_pnl_usd, signed=True)} $"),
        ("margin (wallet)", f"{fmt.usd_cents(p.margin_usd)} $"),
        ("initial margin", f"{fmt.usd_cents(p.initial_margin_usd)} $"),
        (
            "maintenance margin",
            f"{fmt.usd_cents(p.maintenance_margin_usd)} $ at rate "
            f"{fmt.pct(p.maintenance_margin_rate * 100, 3)}" + f" (tiers: {p.tier_source})",
        ),
        ("liquidation price", fmt.price(p.liquidation_price)),
        ("distance to liq.", fmt.pct(p.distance_to_liquidation_pct, 2)),
        (
            "funding / period",
            f"{fmt.usd_cents(p.funding_usd_per_period, signed=True)} $ "
            f"(rate {fmt.pct(None if p.funding_rate is None else p.funding_rate * 100, 4)})",
        ),
        ("carry (annualized)", fmt.pct(p.carry_apr_pct, 2, signed=True)),
        ("hedge ratio of asset", fmt.ratio_pct(p.hedge_ratio, 1)),
    ]
    if p.kind == "basis":
        rows.append(
            ("spot leg", f"{fmt.qty(p.spot_qty)} {p.asset} = {fmt.usd_cents(p.spot_leg_usd)} $")
        )
    rows += [
        (
            "margin ratio",
            fmt.ratio_pct(p.margin_ratio, 2)
            + (" (its account's)" if p.margin_mode == "cross" else ""),
        ),
        ("BTC move to liq.", fmt.pct(p.liquidation_shock_pct, 2, signed=True)),
        ("venue", p.venue),
    ]
    if shock_pct:
        rows += [
            (f"mark under {shock_pct:+g}%", fmt.price(p.shocked_mark_price)),
            ("uPnL under the shock", f"{fmt.usd_cents(p.shocked_unrealized_pnl_usd, True)} $"),
            ("margin ratio, shocked", fmt.ratio_pct(p.shocked_margin_ratio, 2)),
            ("liquidated by it", "yes ✗" if p.liquidated else "no"),
        ]
    if note:
        # A note may hold several lines: each starts under the first.
        rows.append(("note", note.replace("\n", "\n" + " " * 25)))
    lines = [f"[b]{escape(p.id)}[/]", ""]
    lines += [f"  [b]{label:<22}[/] {escape(value)}" for label, value in rows]
    return "\n".join(lines)


def holding_details(h: Any, asset: Any, note: str = "") -> str:
    """Markup of one HoldingRow (and its asset's exposure): price, value, cost and note."""
    beta = (
        "— (stablecoin)" if h.stable else f"{h.beta:.2f}" + (" (assumed)" if h.beta_assumed else "")
    )
    rows = [
        ("quantity", fmt.qty(h.qty)),
        ("price", fmt.price(h.price) + (" (stale)" if h.stale else "")),
        ("value", f"{fmt.usd_cents(h.value_usd)} $ ({fmt.pct(h.weight_pct, 2)} of equity)"),
        ("24h change", fmt.pct(h.change_24h_pct, 2, signed=True)),
        ("beta to BTC", beta),
        ("cost, PnL", f"{fmt.usd_cents(h.cost_usd)} $, {fmt.usd_cents(h.pnl_usd, True)} $"),
    ]
    if asset is not None:
        rows += [
            ("futures delta", f"{fmt.usd_cents(asset.futures_usd, True)} $"),
            ("net exposure", f"{fmt.usd_cents(asset.net_usd, True)} $"),
            ("hedge ratio", fmt.ratio_pct(asset.hedge_ratio, 1)),
        ]
    if note:
        rows.append(("note", note.replace("\n", "\n" + " " * 25)))
    lines = [f"[b]{escape(h.asset)}[/]", ""]
    lines += [f"  [b]{label:<22}[/] {escape(value)}" for label, value in rows]
    return "\n".join(lines)
