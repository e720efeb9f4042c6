"""One code path for what-if edits, shared by the app and `symbiosis report`.

Each function takes the draft and the market (edits book added size at the
mark) and returns an Outcome: the new draft and the effect in words. A refused
edit raises EditError and the caller keeps the old draft.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import edits
from core.edits import EditError, NumberRule, parse_number
from core.model import BOOKS, MARGIN_MODES, SIDES, Book, MarketState, Portfolio, base_asset

ADD_SYNTAX = "SYMBOL SIDE SIZE [ENTRY] [LEVERAGE] [MODE]"
EDIT_SYNTAX = "TARGET FIELD VALUE"
# --add / the app's add: LEVERAGE defaults to 1, MODE to isolated (DESIGN).
DEFAULT_LEVERAGE = 1.0
DEFAULT_MODE = "isolated"


@dataclass(frozen=True)
class Outcome:
    """An applied edit: the new draft, what it did in words, and a new row's id."""

    portfolio: Portfolio
    effect: str
    new_id: str | None = None


def _position_ids(portfolio: Portfolio) -> set[str]:
    return {p.id for p in portfolio.positions}


def edit(portfolio: Portfolio, market: MarketState, target: str, field: str, text: str) -> Outcome:
    """Set FIELD of TARGET (a position id, a holding's asset, or `account`) from typed text."""
    if target == "account":
        if field != "collateral_usd":
            raise EditError(f"account {field}: not editable (the account has collateral_usd)")
        new = edits.set_collateral(portfolio, text)
        return Outcome(new, f"cross wallet set to {new.collateral_usd:,.2f}")
    if target in _position_ids(portfolio):
        new = edits.edit_position(portfolio, target, field, text)
        value = getattr(new.position(target), field, None)
        return Outcome(new, f"{target} {field} set to {_shown(value)}")
    if any(h.asset == target for h in portfolio.holdings):
        new = edits.edit_holding(portfolio, target, field, text)
        value = next(getattr(h, field) for h in new.holdings if h.asset == target)
        return Outcome(new, f"{target} {field} set to {_shown(value)}")
    raise EditError(f"{target}: no position, holding or account of that name")


def toggle(portfolio: Portfolio, market: MarketState, position_id: str, field: str) -> Outcome:
    """Flip side (long/short) or margin mode (isolated/cross)."""
    position = portfolio.position(position_id)
    if field == "side":
        new_value = "short" if position.side == "long" else "long"
    elif field == "margin_mode":
        new_value = "cross" if position.margin_mode == "isolated" else "isolated"
    else:
        raise EditError(f"{field}: cannot be toggled")
    return edit(portfolio, market, position_id, field, new_value)


def add(portfolio: Portfolio, market: MarketState, book: str, text: str) -> Outcome:
    """Open a position from 'SYMBOL SIDE SIZE [ENTRY] [LEVERAGE] [MODE]' (at the mark
    unless ENTRY is given)."""
    if book not in BOOKS:
        raise EditError(f"book must be hedge or alpha (got {book!r})")
    parts = text.split()
    if len(parts) < 3 or len(parts) > 6:
        raise EditError(f"type: {ADD_SYNTAX}")
    symbol, side = parts[0], parts[1].lower()
    if side not in SIDES:
        raise EditError(f"side must be long or short (got {parts[1]!r})")
    size = parse_number(parts[2], "size", None, NumberRule(positive=True))
    mark = market.mark(symbol) or market.spot_price(base_asset(symbol))
    if len(parts) > 3:
        entry = parse_number(parts[3], "entry", None, NumberRule(positive=True))
    elif mark:
        entry = mark
    else:
        raise EditError(f"no price for {symbol}: give an entry price")
    leverage = DEFAULT_LEVERAGE
    if len(parts) > 4:
        leverage = parse_number(parts[4], "leverage", None, NumberRule(positive=True)) or 1.0
    mode = DEFAULT_MODE
    if len(parts) > 5:
        mode = parts[5].lower()
        if mode not in MARGIN_MODES:
            raise EditError(f"mode must be isolated or cross (got {parts[5]!r})")
    typed_book: Book = "hedge" if book == "hedge" else "alpha"
    new, new_id = edits.add_position(
        portfolio, typed_book, symbol, side, size or 0.0, entry or 0.0, leverage, mode
    )
    return Outcome(new, f"{new_id} opened: {side} {size:g} {symbol}", new_id)


def delete(portfolio: Portfolio, market: MarketState, position_id: str) -> Outcome:
    """Close a position."""
    if position_id not in _position_ids(portfolio):
        raise EditError(f"{position_id}: no such position")
    return Outcome(edits.delete_position(portfolio, position_id), f"{position_id} closed")


def split_edit(line: str) -> tuple[str, str, str]:
    """'TARGET FIELD VALUE' -> its three parts (VALUE may hold spaces, e.g. a note)."""
    parts = line.strip().split(None, 2)
    if len(parts) < 3:
        if len(parts) == 2:
            parts.append("")
        else:
            raise EditError(f"an edit is {EDIT_SYNTAX}, e.g. 'h-btc size +20%' (got {line!r})")
    return parts[0], parts[1], parts[2]


def split_add(line: str) -> tuple[str, str]:
    """'BOOK SYMBOL SIDE SIZE ...' -> (BOOK, the rest)."""
    parts = line.strip().split(None, 1)
    if len(parts) < 2:
        raise EditError(f"an add is BOOK {ADD_SYNTAX}, e.g. 'hedge BTC/USDT:USDT short 0.1'")
    return parts[0].lower(), parts[1]


def _shown(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:,.8g}" if abs(value) < 1000 else f"{value:,.2f}"
    return str(value)
