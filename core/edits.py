"""What-if edits of a draft Portfolio: each returns a new value or raises EditError.

Numbers accept '1,250.5' (a comma only between groups of three digits),
'+20%' / '-10%' (relative to the old value) and 'x1.2' / '*1.2' (a multiple
of it), so "hedge 20 % more" is one edit. The app and `symbiosis report
--edit/--add/--delete` both go through `core.whatif`, which calls these.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from core.config import check_futures_symbol
from core.model import BOOKS, Book, Holding, MarginMode, Portfolio, Position, Side, base_asset


class EditError(ValueError):
    """An edit that was not applied; the message says why."""


@dataclass(frozen=True)
class NumberRule:
    positive: bool = False  # > 0, else >= 0
    optional: bool = False  # empty text clears it


POSITION_NUMBERS = {
    "size": NumberRule(positive=True),
    "entry_price": NumberRule(positive=True),
    "leverage": NumberRule(positive=True),
    "margin_usd": NumberRule(positive=True, optional=True),
    "spot_qty": NumberRule(),
}
HOLDING_NUMBERS = {"qty": NumberRule(), "cost_usd": NumberRule(optional=True)}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_RELATIVE = re.compile(r"^([+-])\s*(\d+(?:\.\d*)?|\.\d+)\s*%$")
_MULTIPLE = re.compile(r"^[x*×]\s*(\d+(?:\.\d*)?|\.\d+)$")


def parse_number(text: str, name: str, old: float | None, rule: NumberRule) -> float | None:
    """The new value of a numeric field typed as `text`."""
    cleaned = text.strip()
    if "," in cleaned:
        # '1,500' is fifteen hundred; '1,5' could be a decimal comma: refuse, never guess.
        if not _THOUSANDS.match(cleaned.lstrip("x*×").rstrip("%").replace(" ", "")):
            raise EditError(
                f"{name}: {cleaned!r} is ambiguous: a comma only separates thousands "
                "(1,500); write a decimal with a point (1.5)"
            )
        cleaned = cleaned.replace(",", "")
    cleaned = cleaned.replace("_", "")
    if not cleaned:
        if rule.optional:
            return None
        raise EditError(f"{name}: a value is required")
    relative = _RELATIVE.match(cleaned)
    multiple = _MULTIPLE.match(cleaned.lower())
    if (relative or multiple) and old is None:
        raise EditError(f"{name}: no current value to change relatively")
    try:
        if relative and old is not None:
            change = float(relative.group(2)) / 100.0
            value = old * (1 + change if relative.group(1) == "+" else 1 - change)
        elif multiple and old is not None:
            value = old * float(multiple.group(1))
        else:
            value = float(cleaned)
    except ValueError:
        raise EditError(f"{name}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise EditError(f"{name}: must be a finite number")
    if rule.positive and value <= 0:
        raise EditError(f"{name}: must be > 0 (got {value:g})")
    if value < 0:
        raise EditError(f"{name}: must be >= 0 (got {value:g})")
    return value


MAX_NOTE = 500


def clean_note(text: str) -> str:
    """A row's note: free text kept as typed, without control characters, bounded."""
    note = "".join(c for c in text if c == "\n" or c >= " " and c != "\x7f").strip()
    if len(note) > MAX_NOTE:
        raise EditError(f"note: at most {MAX_NOTE} characters (got {len(note)})")
    return note


def edit_position(portfolio: Portfolio, position_id: str, field: str, text: str) -> Portfolio:
    """Set one field of a position from typed text."""
    position = portfolio.position(position_id)
    if field in POSITION_NUMBERS:
        if field == "spot_qty" and position.kind != "basis":
            raise EditError("spot_qty: only basis trades have a spot leg")
        value = parse_number(text, field, getattr(position, field), POSITION_NUMBERS[field])
        changed: dict[str, Any] = {field: value}
        return portfolio.replace_position(position_id, replace(position, **changed))
    if field == "note":
        return portfolio.replace_position(position_id, replace(position, note=clean_note(text)))
    if field == "symbol":
        symbol = text.strip()
        problem = check_futures_symbol(symbol)
        if problem:
            raise EditError(f"symbol: {problem}")
        if position.kind == "basis" and base_asset(symbol) != position.base:
            raise EditError("symbol: a basis trade's future must stay on its spot leg's asset")
        return portfolio.replace_position(position_id, replace(position, symbol=symbol))
    if field == "side":
        side = text.strip().lower()
        if side not in ("long", "short"):
            raise EditError(f"side: must be long or short (got {text.strip()!r})")
        new_side: Side = "long" if side == "long" else "short"
        return portfolio.replace_position(position_id, replace(position, side=new_side))
    if field == "margin_mode":
        mode = text.strip().lower()
        if mode not in ("isolated", "cross"):
            raise EditError(f"margin_mode: must be isolated or cross (got {text.strip()!r})")
        new_mode: MarginMode = "cross" if mode == "cross" else "isolated"
        return portfolio.replace_position(position_id, replace(position, margin_mode=new_mode))
    raise EditError(f"{field}: not editable")


def toggle_position(portfolio: Portfolio, position_id: str, field: str) -> Portfolio:
    """Flip side (long/short) or margin mode (isolated/cross)."""
    position = portfolio.position(position_id)
    if field == "side":
        new = "short" if position.side == "long" else "long"
    elif field == "margin_mode":
        new = "cross" if position.margin_mode == "isolated" else "isolated"
    else:
        raise EditError(f"{field}: cannot be toggled")
    return edit_position(portfolio, position_id, field, new)


def edit_holding(portfolio: Portfolio, asset: str, field: str, text: str) -> Portfolio:
    holdings = list(portfolio.holdings)
    for i, holding in enumerate(holdings):
        if holding.asset == asset:
            if field == "note":
                holdings[i] = replace(holding, note=clean_note(text))
                return replace(portfolio, holdings=tuple(holdings))
            if field not in HOLDING_NUMBERS:
                raise EditError(f"{field}: not editable")
            value = parse_number(text, field, getattr(holding, field), HOLDING_NUMBERS[field])
            changed: dict[str, Any] = {field: value}
            holdings[i] = replace(holding, **changed)
            return replace(portfolio, holdings=tuple(holdings))
    raise EditError(f"no holding {asset!r}")


def set_collateral(portfolio: Portfolio, text: str) -> Portfolio:
    value = parse_number(text, "collateral_usd", portfolio.collateral_usd, NumberRule())
    return replace(portfolio, collateral_usd=value or 0.0)


def add_holding(portfolio: Portfolio, asset: str, qty_text: str = "0") -> Portfolio:
    asset = asset.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{2,15}", asset):
        raise EditError(f"asset: {asset!r} is not an asset code like BTC")
    if any(h.asset == asset for h in portfolio.holdings):
        raise EditError(f"asset: {asset} is already held; edit its qty instead")
    qty = parse_number(qty_text, "qty", None, HOLDING_NUMBERS["qty"])
    return replace(portfolio, holdings=(*portfolio.holdings, Holding(asset, qty or 0.0)))


def new_position_id(portfolio: Portfolio, book: Book, symbol: str) -> str:
    stem = f"{'h' if book == 'hedge' else 'a'}-{symbol.split('/')[0].lower()}"
    taken = {p.id for p in portfolio.positions}
    if stem not in taken:
        return stem
    n = 2
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def add_position(
    portfolio: Portfolio,
    book: Book,
    symbol: str,
    side: str,
    size: float,
    entry_price: float,
    leverage: float = 1.0,
    margin_mode: str = "isolated",
) -> tuple[Portfolio, str]:
    """Append a position to a book; returns the new portfolio and the new id."""
    problem = check_futures_symbol(symbol)
    if problem:
        raise EditError(f"symbol: {problem}")
    if not (size > 0 and entry_price > 0 and leverage > 0):
        raise EditError("size, entry price and leverage must be > 0")
    position_id = new_position_id(portfolio, book, symbol)
    position = Position(
        position_id,
        book,
        symbol,
        side,  # type: ignore[arg-type]
        size,
        entry_price,
        leverage,
        margin_mode,  # type: ignore[arg-type]
    )
    return replace(portfolio, positions=(*portfolio.positions, position)), position_id


def delete_position(portfolio: Portfolio, position_id: str) -> Portfolio:
    portfolio.position(position_id)
    return replace(
        portfolio, positions=tuple(p for p in portfolio.positions if p.id != position_id)
    )


def delete_holding(portfolio: Portfolio, asset: str) -> Portfolio:
    return replace(portfolio, holdings=tuple(h for h in portfolio.holdings if h.asset != asset))


def move_position(portfolio: Portfolio, position_id: str) -> Portfolio:
    """Move a position between the hedge overlay and the alpha engine."""
    position = portfolio.position(position_id)
    target: Book = BOOKS[1] if position.book == BOOKS[0] else BOOKS[0]
    if position.kind == "basis" and target == "hedge":
        raise EditError("a basis trade (with its spot leg) stays in the alpha book")
    return portfolio.replace_position(position_id, replace(position, book=target))
