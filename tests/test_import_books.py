"""Mapping imported accounts onto the books and merging them with manual rows."""

from __future__ import annotations

from dataclasses import replace

from core.importer.accounts import ImportedPosition, VenueAccount
from core.importer.books import IMPORT_MARK, plan_import
from core.importer.diff import portfolio_diff
from core.model import Holding, Portfolio, Position, frozen_map

MARK = frozen_map({IMPORT_MARK: True})


def short(symbol: str, size: float, venue: str = "binance", **kw) -> ImportedPosition:
    values = dict(entry_price=70000.0, leverage=3.0, margin_mode="cross", margin_usd=None)
    values.update(kw)
    return ImportedPosition(venue=venue, symbol=symbol, side="short", size=size, **values)


def long(symbol: str, size: float, venue: str = "binance", **kw) -> ImportedPosition:
    return replace(short(symbol, size, venue, **kw), side="long")


def account(venue: str = "binance", spot=None, cross: float = 1000.0, positions=()) -> VenueAccount:
    return VenueAccount(
        venue=venue, spot=spot or {}, cross_wallet_usd=cross, positions=tuple(positions)
    )


def manual_hedge(**kw) -> Position:
    values = dict(
        id="h-btc",
        book="hedge",
        symbol="BTC/USDT:USDT",
        side="short",
        size=0.25,
        entry_price=70000.0,
        leverage=3.0,
    )
    values.update(kw)
    return Position(**values)


def test_a_short_on_an_asset_held_spot_is_a_hedge_and_everything_else_alpha():
    plan = plan_import(
        Portfolio(holdings=(Holding("BTC", 1.0),)),
        [
            account(
                spot={"ETH": 2.0},
                positions=[
                    short("BTC/USDT:USDT", 0.5),  # BTC held (manual row): hedge
                    short("ETH/USDT:USDT", 1.0),  # ETH held (imported now): hedge
                    long("BTC/USDT:USDT-251226", 0.1),  # a long: alpha
                    short("SOL/USDT:USDT", 10.0),  # SOL not held: alpha
                ],
            )
        ],
        default_venue="binance",
    )
    books = {(p.symbol, p.side): (p.book, p.id) for p in plan.after.positions}
    assert books == {
        ("BTC/USDT:USDT", "short"): ("hedge", "h-btc"),
        ("ETH/USDT:USDT", "short"): ("hedge", "h-eth"),
        ("BTC/USDT:USDT-251226", "long"): ("alpha", "a-btc"),
        ("SOL/USDT:USDT", "short"): ("alpha", "a-sol"),
    }
    assert all(p.venue == "binance" and p.extra[IMPORT_MARK] for p in plan.after.positions)


def test_stablecoins_held_do_not_make_a_short_a_hedge():
    plan = plan_import(
        Portfolio(holdings=(Holding("USDT", 5000.0),)),
        [account(positions=[short("USDT/USD:USD", 1.0)])],
        default_venue="binance",
        stablecoins=("USDT",),
    )
    assert [p.book for p in plan.after.positions] == ["alpha"]


def test_manual_rows_are_kept_and_a_manual_row_for_the_same_contract_wins():
    manual = manual_hedge(note="hand-entered")
    other_venue = manual_hedge(id="h-btc-bybit", venue="bybit", size=0.1)
    before = Portfolio(holdings=(Holding("BTC", 1.0),), positions=(manual, other_venue))
    plan = plan_import(
        before,
        [account(positions=[short("BTC/USDT:USDT", 0.5), long("ETH/USDT:USDT", 2.0)])],
        default_venue="binance",
    )
    # The manual binance row (venue "" = the default venue) stands for BTC short: kept,
    # the exchange's one is left out; the bybit row is another venue's: untouched.
    assert plan.after.positions[:2] == (manual, other_venue)
    assert plan.after.positions[0].note == "hand-entered"
    assert [p.id for p in plan.after.positions] == ["h-btc", "h-btc-bybit", "a-eth"]
    assert any("manual row h-btc stands for it" in note for note in plan.notes)


def test_reimporting_updates_the_imported_rows_instead_of_duplicating_them():
    first = plan_import(
        Portfolio(holdings=(Holding("BTC", 1.0),)),
        [account(spot={"ETH": 2.0}, positions=[short("BTC/USDT:USDT", 0.5)])],
        default_venue="binance",
    ).after
    # The user moves the imported hedge to alpha and notes it; the exchange changes size.
    moved = replace(first.positions[0], book="alpha", note="carry")
    second = plan_import(
        replace(first, positions=(moved,)),
        [
            account(
                spot={"ETH": 2.5},
                positions=[short("BTC/USDT:USDT", 0.75, entry_price=71000.0, leverage=5.0)],
            )
        ],
        default_venue="binance",
    )
    (position,) = second.after.positions
    assert (position.id, position.book, position.note) == ("h-btc", "alpha", "carry")
    assert (position.size, position.entry_price, position.leverage) == (0.75, 71000.0, 5.0)
    assert [(h.asset, h.qty) for h in second.after.holdings] == [("BTC", 1.0), ("ETH", 2.5)]
    again = plan_import(
        second.after,
        [
            account(
                spot={"ETH": 2.5},
                positions=[short("BTC/USDT:USDT", 0.75, entry_price=71000.0, leverage=5.0)],
            )
        ],
        "binance",
    )
    assert again.after == second.after
    assert portfolio_diff(again.before, again.after, "binance") == []


def test_closed_positions_and_sold_holdings_of_that_venue_leave_other_venues_alone():
    imported_bybit = manual_hedge(id="h-btc-2", venue="bybit", extra=MARK)
    imported_binance = manual_hedge(id="h-btc", venue="binance", extra=MARK)
    before = Portfolio(
        holdings=(Holding("ETH", 1.0, venue="binance", extra=MARK), Holding("BTC", 1.0)),
        positions=(imported_binance, imported_bybit),
    )
    plan = plan_import(before, [account(spot={}, positions=[])], default_venue="binance")
    assert [p.id for p in plan.after.positions] == ["h-btc-2"]
    assert [h.asset for h in plan.after.holdings] == ["BTC"]
    assert portfolio_diff(plan.before, plan.after, "binance") == [
        "~ [account] (binance) collateral_usd 0 -> 1,000",
        "- [[holdings]] ETH qty 1 (binance)",
        "- [[hedges]] h-btc BTC/USDT:USDT short 0.25 @ 70,000 3x isolated (binance)",
    ]


def test_a_holding_already_in_a_manual_row_is_not_imported_twice():
    before = Portfolio(holdings=(Holding("BTC", 0.5, note="cold wallet"),))
    plan = plan_import(before, [account(spot={"BTC": 0.2})], default_venue="binance")
    assert plan.after.holdings == before.holdings
    assert "0.2 BTC not imported: the holding of BTC is a manual row of binance" in plan.notes[0]


def test_cross_wallets_go_to_the_account_of_their_venue():
    before = Portfolio(collateral_usd=20000.0, accounts=frozen_map({"okx": 300.0}))
    plan = plan_import(
        before,
        [account("binance", cross=31.022612), account("bybit", cross=9170.45910527)],
        default_venue="binance",
    )
    assert plan.after.collateral_usd == 31.022612
    assert dict(plan.after.accounts) == {"okx": 300.0, "bybit": 9170.45910527}
    assert portfolio_diff(plan.before, plan.after, "binance") == [
        "~ [account] (binance) collateral_usd 20,000 -> 31.022612",
        "+ [accounts.bybit] collateral_usd 9,170.45910527",
    ]


def test_isolated_positions_keep_their_isolated_wallet_and_new_ids_skip_taken_ones():
    before = Portfolio(
        positions=(manual_hedge(id="a-eth", book="alpha", symbol="ETH/USDT:USDT", venue="okx"),)
    )
    plan = plan_import(
        before,
        [
            account(
                positions=[long("ETH/USDT:USDT", 5.0, margin_mode="isolated", margin_usd=8750.0)]
            )
        ],
        default_venue="binance",
    )
    new = plan.after.positions[1]
    assert (new.id, new.margin_mode, new.margin_usd) == ("a-eth-2", "isolated", 8750.0)
    assert portfolio_diff(plan.before, plan.after, "binance")[-1] == (
        "+ [[alpha]] a-eth-2 ETH/USDT:USDT long 5 @ 70,000 3x isolated margin 8,750 (binance)"
    )
