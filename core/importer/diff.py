"""What an import would change in portfolio.toml, one line per row or wallet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.config import BOOK_TABLES
from core.model import Holding, Portfolio, Position

_POSITION_FIELDS = (
    "symbol",
    "side",
    "size",
    "entry_price",
    "leverage",
    "margin_mode",
    "margin_usd",
)


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.8f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    return str(value)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    parts = [
        f"{key} {_value(old.get(key))} -> {_value(new.get(key))}"
        for key in new
        if old.get(key) != new.get(key)
    ]
    return ", ".join(parts)


def _position_fields(p: Position) -> dict[str, Any]:
    return {name: getattr(p, name) for name in _POSITION_FIELDS}


def _describe_position(p: Position) -> str:
    margin = f" margin {_value(p.margin_usd)}" if p.margin_usd is not None else ""
    return (
        f"{p.symbol} {p.side} {_value(p.size)} @ {_value(p.entry_price)} "
        f"{p.leverage:g}x {p.margin_mode}{margin}"
    )


def _venue(row: Holding | Position, default_venue: str) -> str:
    return row.venue or default_venue


def portfolio_diff(before: Portfolio, after: Portfolio, default_venue: str) -> list[str]:
    """'+' added, '-' removed, '~' changed: one line each, in file order."""
    lines: list[str] = []
    if before.collateral_usd != after.collateral_usd:
        lines.append(
            f"~ [account] ({default_venue}) collateral_usd "
            f"{_value(before.collateral_usd)} -> {_value(after.collateral_usd)}"
        )
    for venue, wallet in after.accounts.items():
        old = before.accounts.get(venue)
        if old is None:
            lines.append(f"+ [accounts.{venue}] collateral_usd {_value(wallet)}")
        elif old != wallet:
            lines.append(f"~ [accounts.{venue}] collateral_usd {_value(old)} -> {_value(wallet)}")
    old_holdings = {h.asset: h for h in before.holdings}
    new_holdings = {h.asset: h for h in after.holdings}
    for asset, h in new_holdings.items():
        held = old_holdings.get(asset)
        where = _venue(h, default_venue)
        if held is None:
            lines.append(f"+ [[holdings]] {asset} qty {_value(h.qty)} ({where})")
        elif held.qty != h.qty:
            lines.append(
                f"~ [[holdings]] {asset} ({where}) qty {_value(held.qty)} -> {_value(h.qty)}"
            )
    for asset, h in old_holdings.items():
        if asset not in new_holdings:
            lines.append(f"- [[holdings]] {asset} qty {_value(h.qty)} ({_venue(h, default_venue)})")
    old_positions = {p.id: p for p in before.positions}
    new_positions = {p.id: p for p in after.positions}
    for pid, p in new_positions.items():
        table = BOOK_TABLES[p.book]
        was = old_positions.get(pid)
        where = _venue(p, default_venue)
        if was is None:
            lines.append(f"+ [[{table}]] {pid} {_describe_position(p)} ({where})")
            continue
        change = _changes(_position_fields(was), _position_fields(p))
        if change:
            lines.append(f"~ [[{table}]] {pid} ({where}) {change}")
    for pid, p in old_positions.items():
        if pid not in new_positions:
            table = BOOK_TABLES[p.book]
            lines.append(
                f"- [[{table}]] {pid} {_describe_position(p)} ({_venue(p, default_venue)})"
            )
    return lines
