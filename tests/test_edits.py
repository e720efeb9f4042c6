"""What-if edits of the draft: each returns a new portfolio or refuses with a reason."""

from __future__ import annotations

import math

import pytest

from core import edits
from core.draft import History
from core.model import Holding, Portfolio, Position

BOOK = Portfolio(
    collateral_usd=20_000.0,
    holdings=(Holding("BTC", 0.5, 28_000.0), Holding("ETH", 12.0)),
    positions=(
        Position("h-btc", "hedge", "BTC/USDT:USDT", "short", 0.5, 60_000.0, 3.0, "cross"),
        Position(
            "carry",
            "alpha",
            "BTC/USDT:USDT-261225",
            "short",
            0.1,
            61_000.0,
            2.0,
            kind="basis",
            spot_qty=0.1,
        ),
    ),
)


@pytest.mark.parametrize(
    ("text", "old", "expected"),
    [
        ("0.25", 0.5, 0.25),
        ("1,250.5", 1.0, 1250.5),
        ("+20%", 0.5, 0.6),
        ("-10%", 0.5, 0.45),
        ("x1.2", 0.5, 0.6),
        ("*2", 0.5, 1.0),
        (" 3 ", 1.0, 3.0),
    ],
)
def test_numbers_accept_plain_relative_and_multiple_forms(text, old, expected):
    rule = edits.NumberRule(positive=True)
    assert edits.parse_number(text, "size", old, rule) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "'abc' is not a number"),
        ("", "a value is required"),
        ("0", "must be > 0"),
        ("-1", "must be > 0"),
        ("-100%", "must be > 0"),
        ("nan", "finite"),
        ("inf", "finite"),
    ],
)
def test_bad_numbers_are_refused_with_the_reason(text, reason):
    with pytest.raises(edits.EditError, match=reason):
        edits.parse_number(text, "size", 0.5, edits.NumberRule(positive=True))


def test_editing_a_size_replaces_only_that_position():
    new = edits.edit_position(BOOK, "h-btc", "size", "+20%")
    assert new.position("h-btc").size == pytest.approx(0.6)
    assert new.position("carry") is BOOK.position("carry")
    assert BOOK.position("h-btc").size == 0.5  # the old value is untouched


def test_a_refused_edit_leaves_the_portfolio_as_it_was():
    with pytest.raises(edits.EditError):
        edits.edit_position(BOOK, "h-btc", "leverage", "zero")
    with pytest.raises(edits.EditError, match="only basis trades"):
        edits.edit_position(BOOK, "h-btc", "spot_qty", "1")
    with pytest.raises(edits.EditError, match="inverse"):
        edits.edit_position(BOOK, "h-btc", "symbol", "BTC/USD:BTC")
    with pytest.raises(edits.EditError, match="spot leg"):
        edits.edit_position(BOOK, "carry", "symbol", "ETH/USDT:USDT")


def test_optional_margin_clears_to_the_default_when_emptied():
    with_margin = edits.edit_position(BOOK, "carry", "margin_usd", "4000")
    assert with_margin.position("carry").isolated_margin() == 4000
    cleared = edits.edit_position(with_margin, "carry", "margin_usd", "")
    # default: entry notional / leverage = 0.1 x 61,000 / 2
    assert cleared.position("carry").isolated_margin() == pytest.approx(3050.0)


def test_toggles_flip_side_and_margin_mode():
    flipped = edits.toggle_position(BOOK, "h-btc", "side")
    assert flipped.position("h-btc").side == "long"
    assert edits.toggle_position(flipped, "h-btc", "side").position("h-btc").side == "short"
    assert edits.toggle_position(BOOK, "h-btc", "margin_mode").position("h-btc").margin_mode == (
        "isolated"
    )


def test_moving_between_books_keeps_basis_trades_in_alpha():
    moved = edits.move_position(BOOK, "h-btc")
    assert moved.position("h-btc").book == "alpha"
    assert edits.move_position(moved, "h-btc").position("h-btc").book == "hedge"
    with pytest.raises(edits.EditError, match="stays in the alpha book"):
        edits.move_position(BOOK, "carry")


def test_added_positions_get_unique_ids_and_deletes_remove_them():
    one, first = edits.add_position(BOOK, "hedge", "BTC/USDT:USDT", "short", 0.1, 60_000.0)
    two, second = edits.add_position(one, "hedge", "BTC/USDT:USDT", "short", 0.1, 60_000.0)
    assert first == "h-btc-2" and second == "h-btc-3"
    assert [p.id for p in edits.delete_position(two, first).positions] == ["h-btc", "carry", second]
    with pytest.raises(edits.EditError, match="futures symbol"):
        edits.add_position(BOOK, "alpha", "BTC/USDT", "long", 1.0, 60_000.0)


def test_holdings_add_edit_and_delete():
    added = edits.add_holding(BOOK, "sol", "10")
    assert added.holdings[-1] == Holding("SOL", 10.0)
    with pytest.raises(edits.EditError, match="already held"):
        edits.add_holding(added, "SOL", "1")
    with pytest.raises(edits.EditError, match="asset code"):
        edits.add_holding(BOOK, "not an asset!", "1")
    assert edits.edit_holding(added, "SOL", "qty", "x2").holdings[-1].qty == 20.0
    assert edits.edit_holding(BOOK, "BTC", "cost_usd", "").holdings[0].cost_usd is None
    assert [h.asset for h in edits.delete_holding(added, "ETH").holdings] == ["BTC", "SOL"]
    with pytest.raises(edits.EditError, match=">= 0"):
        edits.edit_holding(BOOK, "BTC", "qty", "-1")


def test_collateral_edit_is_validated():
    assert edits.set_collateral(BOOK, "+50%").collateral_usd == 30_000.0
    with pytest.raises(edits.EditError):
        edits.set_collateral(BOOK, "lots")


def test_history_undoes_and_redoes_and_a_new_edit_drops_the_redo_branch():
    history = History(BOOK)
    a = edits.edit_position(BOOK, "h-btc", "size", "0.4")
    b = edits.edit_position(a, "h-btc", "size", "0.3")
    history.push(a)
    history.push(b)
    assert history.undo() and history.current == a
    assert history.undo() and history.current == BOOK
    assert not history.undo()
    assert history.redo() and history.current == a
    c = edits.edit_position(a, "h-btc", "leverage", "5")
    history.push(c)
    assert not history.can_redo
    history.push(c)  # pushing an unchanged book adds no step
    assert history.undo() and history.current == a
    assert math.isclose(history.current.position("h-btc").size, 0.4)


@pytest.mark.parametrize("text", ["1,5", "1,50", "12,3456", "x1,5", "+1,5%"])
def test_a_comma_that_is_not_a_thousands_separator_is_refused_as_ambiguous(text):
    with pytest.raises(edits.EditError, match="ambiguous"):
        edits.parse_number(text, "size", 1.0, edits.NumberRule(positive=True))


@pytest.mark.parametrize(("text", "expected"), [("1,500", 1500.0), ("12,345.5", 12345.5)])
def test_a_thousands_separator_is_read(text, expected):
    assert edits.parse_number(text, "size", 1.0, edits.NumberRule(positive=True)) == expected
