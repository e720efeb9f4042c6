"""One code path for what-if edits, shared by the app and `symbiosis report`.

Edits behave as the exchange would, so equity only moves when money comes in (a
holding's qty, a cross wallet) or prices move: margin moves between a venue's
cross wallet and isolated wallets, added size is booked at the mark, a reduced
or closed size realises its uPnL into the cross wallet. Each function returns an
Outcome (the new draft and what moved, in words); a refused edit raises
EditError and the caller keeps the old draft.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core import edits
from core.edits import EditError, NumberRule, parse_number
from core.margin import tier_for
from core.model import (
    BOOKS,
    MARGIN_MODES,
    SIDES,
    Book,
    MarginMode,
    MarketState,
    Portfolio,
    Position,
    Side,
    base_asset,
    frozen_map,
)

ADD_SYNTAX = "SYMBOL SIDE SIZE [ENTRY] [LEVERAGE] [MODE]"
# ENTRY may be written "mark" to give a leverage or a mode and still open at the mark.
EDIT_SYNTAX = "TARGET FIELD VALUE"
# --add / the app's add: LEVERAGE defaults to 1, MODE to isolated (DESIGN).
DEFAULT_LEVERAGE = 1.0
DEFAULT_MODE: MarginMode = "isolated"
# Rounding slack when checking that a wallet stays at or above zero (USD).
_CENTS = 1e-6


@dataclass(frozen=True)
class Outcome:
    """An applied edit: the new draft, what it did in words, and a new row's id."""

    portfolio: Portfolio
    effect: str
    new_id: str | None = None


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _signed(value: float) -> str:
    return f"{round(value, 2) + 0.0:+,.2f}"


def mark_of(market: MarketState, position: Position) -> float:
    """The price an edit books at: the mark, else the spot price, else the entry (as the
    engine values a position without a mark)."""
    key = market.contract_key(position.symbol, position.venue)
    spot = market.spot_quote(position.base, position.venue)
    return market.mark(key) or (spot.price if spot else None) or position.entry_price


def upnl_of(market: MarketState, position: Position) -> float:
    return (mark_of(market, position) - position.entry_price) * position.size * position.sign


def wallet_key(market: MarketState, venue: str) -> str:
    """'' for the default venue's cross wallet ([account]), else the venue's name."""
    return market.venue_of(venue)


def wallet(portfolio: Portfolio, key: str) -> float:
    return portfolio.collateral_usd if not key else float(portfolio.accounts.get(key, 0.0))


def with_wallet(portfolio: Portfolio, key: str, value: float) -> Portfolio:
    # + 0.0 keeps a wallet emptied to the cent from reading -0.00
    value = value + 0.0
    if not key:
        return replace(portfolio, collateral_usd=value)
    return replace(portfolio, accounts=frozen_map({**portfolio.accounts, key: value}))


def free_cross_margin(portfolio: Portfolio, market: MarketState, key: str) -> float:
    """Cross wallet + uPnL of its cross positions - their initial margin (at the mark)."""
    free = wallet(portfolio, key)
    for p in portfolio.positions:
        if p.margin_mode == "cross" and wallet_key(market, p.venue) == key:
            free += upnl_of(market, p) - p.size * mark_of(market, p) / p.leverage
    return free


def _wallet_name(key: str) -> str:
    return "the cross wallet" if not key else f"the {key} cross wallet"


def _guard(before: Portfolio, after: Portfolio, market: MarketState, key: str) -> None:
    """Refuse an edit that takes the cross wallet, or its free margin, below zero."""
    held, now = wallet(before, key), wallet(after, key)
    if now < -_CENTS and now < held:
        raise EditError(
            f"{_wallet_name(key)} holds {_money(held)}; add collateral (c) or lower the size"
        )
    free_before = free_cross_margin(before, market, key)
    free_after = free_cross_margin(after, market, key)
    if free_after < -_CENTS and free_after < free_before:
        raise EditError(
            f"{_wallet_name(key)} has {_money(max(free_before, 0.0))} of free margin (wallet + "
            "uPnL - initial margin of its cross positions); add collateral (c) or lower the size"
        )


def _max_leverage(market: MarketState, key: str, notional: float) -> float | None:
    tiers = market.tiers.get(key)
    if not tiers:
        return None
    return tier_for(sorted(tiers, key=lambda t: t.min_notional), notional).max_leverage


def _check_leverage(market: MarketState, position: Position, what: str) -> None:
    notional = position.size * mark_of(market, position)
    highest = _max_leverage(market, market.contract_key(position.symbol, position.venue), notional)
    if highest is not None and position.leverage > highest + 1e-12:
        raise EditError(
            f"{what}: {position.leverage:g}x is above the {highest:g}x maximum of "
            f"{position.symbol} for a notional of {_money(notional)}"
        )


def _moved(amount: float, key: str, position_id: str) -> str:
    if abs(amount) < 0.005:
        return "no margin moved"
    if amount > 0:
        return f"moved {_money(amount)} from {_wallet_name(key)} to {position_id}"
    return f"moved {_money(-amount)} from {position_id} to {_wallet_name(key)}"


# -- positions --------------------------------------------------------------------------


def _resize(portfolio: Portfolio, market: MarketState, p: Position, new_size: float) -> Outcome:
    mark = mark_of(market, p)
    key = wallet_key(market, p.venue)
    cash = wallet(portfolio, key)
    change = new_size - p.size
    if change > 0:
        # Added size is booked at the mark: the entry becomes the size-weighted average.
        entry = (p.size * p.entry_price + change * mark) / new_size
        new = replace(p, size=new_size, entry_price=entry)
        _check_leverage(market, new, f"{p.id} size")
        if p.margin_mode == "isolated":
            extra = change * mark / p.leverage
            new = replace(new, margin_usd=p.isolated_margin() + extra)
            after = with_wallet(portfolio.replace_position(p.id, new), key, cash - extra)
            effect = _moved(extra, key, p.id)
        else:
            after = portfolio.replace_position(p.id, new)
            effect = "no margin moved (cross)"
        _guard(portfolio, after, market, key)
        return Outcome(after, f"{p.id} size {p.size:g} → {new_size:g} at {mark:,.2f}; {effect}")
    # A reduction closes that part at the mark: its share of uPnL is realised into the
    # cross wallet, with the isolated margin it frees (never below the rest's IM).
    closed = -change / p.size
    realised = upnl_of(market, p) * closed
    new = replace(p, size=new_size)
    _check_leverage(market, new, f"{p.id} size")
    freed = 0.0
    if p.margin_mode == "isolated":
        margin = p.isolated_margin()
        kept = min(margin, max(margin * (1 - closed), new_size * mark / p.leverage))
        freed = margin - kept
        new = replace(new, margin_usd=kept)
    after = with_wallet(portfolio.replace_position(p.id, new), key, cash + realised + freed)
    _guard(portfolio, after, market, key)
    effect = f"realised {_signed(realised)} into {_wallet_name(key)}"
    if p.margin_mode == "isolated":
        effect += f"; {_moved(-freed, key, p.id)}"
    return Outcome(after, f"{p.id} size {p.size:g} → {new_size:g} at {mark:,.2f}; {effect}")


def _relever(portfolio: Portfolio, market: MarketState, p: Position, leverage: float) -> Outcome:
    new = replace(p, leverage=leverage)
    _check_leverage(market, new, f"{p.id} leverage")
    key = wallet_key(market, p.venue)
    if p.margin_mode == "cross":
        after = portfolio.replace_position(p.id, new)
        _guard(portfolio, after, market, key)
        return Outcome(after, f"{p.id} leverage {p.leverage:g}x → {leverage:g}x (cross)")
    notional = p.size * mark_of(market, p)
    old_im, new_im = notional / p.leverage, notional / leverage
    margin = p.isolated_margin() + new_im - old_im
    if leverage > p.leverage:
        # Raising the leverage frees margin, but never below the new initial margin.
        margin = max(margin, new_im)
    moved = margin - p.isolated_margin()
    new = replace(new, margin_usd=margin)
    after = with_wallet(portfolio.replace_position(p.id, new), key, wallet(portfolio, key) - moved)
    _guard(portfolio, after, market, key)
    return Outcome(
        after, f"{p.id} leverage {p.leverage:g}x → {leverage:g}x; {_moved(moved, key, p.id)}"
    )


def _set_margin(
    portfolio: Portfolio, market: MarketState, p: Position, margin: float | None
) -> Outcome:
    if p.margin_mode != "isolated":
        raise EditError(
            f"{p.id} margin_usd: a cross position has no isolated wallet; switch its mode first"
        )
    if margin is None:  # cleared: back to its initial margin at the mark
        margin = p.size * mark_of(market, p) / p.leverage
    key = wallet_key(market, p.venue)
    moved = margin - p.isolated_margin()
    new = replace(p, margin_usd=margin)
    after = with_wallet(portfolio.replace_position(p.id, new), key, wallet(portfolio, key) - moved)
    _guard(portfolio, after, market, key)
    return Outcome(after, f"{p.id} margin {_money(margin)}; {_moved(moved, key, p.id)}")


def _switch_mode(
    portfolio: Portfolio, market: MarketState, p: Position, mode: MarginMode
) -> Outcome:
    if mode == p.margin_mode:
        return Outcome(portfolio, f"{p.id} is already {mode}")
    key = wallet_key(market, p.venue)
    cash = wallet(portfolio, key)
    if mode == "isolated":
        # Its initial margin at the mark leaves the cross wallet for its isolated one.
        margin = p.size * mark_of(market, p) / p.leverage
        new = replace(p, margin_mode="isolated", margin_usd=margin)
        after = with_wallet(portfolio.replace_position(p.id, new), key, cash - margin)
        moved = margin
    else:
        margin = p.isolated_margin()
        new = replace(p, margin_mode="cross", margin_usd=None)
        after = with_wallet(portfolio.replace_position(p.id, new), key, cash + margin)
        moved = -margin
    _guard(portfolio, after, market, key)
    return Outcome(after, f"{p.id} now {mode}; {_moved(moved, key, p.id)}")


def _flip(portfolio: Portfolio, market: MarketState, p: Position, side: Side) -> Outcome:
    """Close at the mark (uPnL realised into the cross wallet) and reopen the other way."""
    if side == p.side:
        return Outcome(portfolio, f"{p.id} is already {side}")
    mark = mark_of(market, p)
    key = wallet_key(market, p.venue)
    realised = upnl_of(market, p)
    new = replace(p, side=side, entry_price=mark)
    after = with_wallet(
        portfolio.replace_position(p.id, new), key, wallet(portfolio, key) + realised
    )
    _guard(portfolio, after, market, key)
    return Outcome(
        after,
        f"{p.id} closed at {mark:,.2f} (realised {_signed(realised)} into "
        f"{_wallet_name(key)}) and reopened {side}",
    )


def _edit_position(
    portfolio: Portfolio, market: MarketState, p: Position, field: str, text: str
) -> Outcome:
    rule = edits.POSITION_NUMBERS.get(field)
    if field == "size":
        size = parse_number(text, field, p.size, edits.POSITION_NUMBERS["size"]) or p.size
        return _resize(portfolio, market, p, size)
    if field == "leverage":
        leverage = parse_number(text, field, p.leverage, edits.POSITION_NUMBERS["leverage"])
        return _relever(portfolio, market, p, leverage or p.leverage)
    if field == "margin_usd" and rule is not None:
        return _set_margin(portfolio, market, p, parse_number(text, field, p.margin_usd, rule))
    if field == "margin_mode":
        mode = text.strip().lower()
        if mode not in MARGIN_MODES:
            raise EditError(f"margin_mode: must be isolated or cross (got {text.strip()!r})")
        return _switch_mode(portfolio, market, p, "cross" if mode == "cross" else "isolated")
    if field == "side":
        side = text.strip().lower()
        if side not in SIDES:
            raise EditError(f"side: must be long or short (got {text.strip()!r})")
        return _flip(portfolio, market, p, "long" if side == "long" else "short")
    # Records of the past (entry, contract), the spot leg and the note: set as typed.
    new = edits.edit_position(portfolio, p.id, field, text)
    return Outcome(new, f"{p.id} {field} set to {_shown(getattr(new.position(p.id), field))}")


def edit(portfolio: Portfolio, market: MarketState, target: str, field: str, text: str) -> Outcome:
    """Set FIELD of TARGET (a position id, a holding's asset, `account` or
    `account:<venue>`) from typed text."""
    if target == "account" or target.startswith("account:"):
        if field != "collateral_usd":
            raise EditError(f"{target} {field}: not editable (an account has collateral_usd)")
        key = wallet_key(market, target.partition(":")[2])
        value = parse_number(text, "collateral_usd", wallet(portfolio, key), NumberRule())
        new = with_wallet(portfolio, key, value or 0.0)
        return Outcome(new, f"{_wallet_name(key)} set to {_money(value or 0.0)}")
    if any(p.id == target for p in portfolio.positions):
        return _edit_position(portfolio, market, portfolio.position(target), field, text)
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
    """Open a position from 'SYMBOL SIDE SIZE [ENTRY] [LEVERAGE] [MODE]' at the mark
    (with ENTRY: a position already held); its margin comes from the cross wallet."""
    if book not in BOOKS:
        raise EditError(f"book must be hedge or alpha (got {book!r})")
    parts = text.split()
    if len(parts) < 3 or len(parts) > 6:
        raise EditError(f"type: {ADD_SYNTAX}")
    symbol, side = parts[0], parts[1].lower()
    if side not in SIDES:
        raise EditError(f"side must be long or short (got {parts[1]!r})")
    size = parse_number(parts[2], "size", None, NumberRule(positive=True)) or 0.0
    spot = market.spot_quote(base_asset(symbol))
    mark = market.mark(symbol) or (spot.price if spot else None)
    if len(parts) > 3 and parts[3].lower() != "mark":
        entry = parse_number(parts[3], "entry", None, NumberRule(positive=True)) or 0.0
    elif mark:
        entry = mark
    else:
        raise EditError(f"no price for {symbol}: give an entry price")
    leverage = DEFAULT_LEVERAGE
    if len(parts) > 4:
        leverage = parse_number(parts[4], "leverage", None, NumberRule(positive=True)) or 1.0
    mode: MarginMode = DEFAULT_MODE
    if len(parts) > 5:
        typed = parts[5].lower()
        if typed not in MARGIN_MODES:
            raise EditError(f"mode must be isolated or cross (got {parts[5]!r})")
        mode = "cross" if typed == "cross" else "isolated"
    typed_book: Book = "hedge" if book == "hedge" else "alpha"
    opened, new_id = edits.add_position(
        portfolio, typed_book, symbol, side, size, entry, leverage, mode
    )
    position = opened.position(new_id)
    _check_leverage(market, position, f"{new_id} leverage")
    key = wallet_key(market, position.venue)
    price = mark_of(market, position)
    if mode == "isolated":
        margin = size * price / leverage
        position = replace(position, margin_usd=margin)
        after = with_wallet(
            opened.replace_position(new_id, position), key, wallet(portfolio, key) - margin
        )
        effect = _moved(margin, key, new_id)
    else:
        after = opened
        effect = "margined by the cross wallet"
    _guard(portfolio, after, market, key)
    return Outcome(
        after, f"{new_id} opened: {side} {size:g} {symbol} at {entry:,.2f}; {effect}", new_id
    )


def delete(portfolio: Portfolio, market: MarketState, position_id: str) -> Outcome:
    """Close a position at the mark: its uPnL and isolated margin return to the cross wallet."""
    if not any(p.id == position_id for p in portfolio.positions):
        raise EditError(f"{position_id}: no such position")
    p = portfolio.position(position_id)
    key = wallet_key(market, p.venue)
    realised = upnl_of(market, p)
    margin = p.isolated_margin() if p.margin_mode == "isolated" else 0.0
    closed = edits.delete_position(portfolio, position_id)
    after = with_wallet(closed, key, wallet(portfolio, key) + realised + margin)
    _guard(portfolio, after, market, key)
    effect = f"realised {_signed(realised)} into {_wallet_name(key)}"
    if margin:
        effect += f"; {_moved(-margin, key, position_id)}"
    return Outcome(after, f"{position_id} closed at {mark_of(market, p):,.2f}; {effect}")


def split_edit(line: str) -> tuple[str, str, str]:
    """'TARGET FIELD VALUE' -> its three parts (VALUE may hold spaces, e.g. a note)."""
    parts = line.strip().split(None, 2)
    if len(parts) == 2:
        parts.append("")
    if len(parts) < 3:
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
