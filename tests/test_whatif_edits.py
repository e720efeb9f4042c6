"""What-if edits that behave like the exchange: margin moves between wallets, equity
moves only with money in or prices, and refusals keep the old draft and say why."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import whatif
from core.edits import EditError
from core.engine import compute
from core.margin import with_maintenance_amounts
from core.model import Portfolio, Position, Tier
from tests.conftest import make_market

ROOT = Path(__file__).resolve().parent.parent
PERP = "BTC/USDT:USDT"
ETH_PERP = "ETH/USDT:USDT"
# Binance's FAQ brackets with their maximum leverage: 125x to 50k, 100x to 250k, 50x to
# 1M, 20x to 10M.
FAQ_TIERS = with_maintenance_amounts(
    [
        Tier(0.0, 50_000.0, 0.004, 125),
        Tier(50_000.0, 250_000.0, 0.005, 100),
        Tier(250_000.0, 1_000_000.0, 0.01, 50),
        Tier(1_000_000.0, 10_000_000.0, 0.025, 20),
    ]
)
MARKET = replace(
    make_market(
        {"BTC": 60_000.0, "ETH": 3_000.0},
        {PERP: 60_000.0, ETH_PERP: 3_000.0},
        tiers={PERP: FAQ_TIERS},
    ),
    exchange="binance",
)
# Cross wallet 20,000; a-btc: isolated long 0.5 BTC @ 50,000, 5x, margin 5,000 (uPnL +5,000);
# h-eth: cross short 2 ETH @ 3,100, 3x (uPnL +200).
BOOK = Portfolio(
    collateral_usd=20_000.0,
    positions=(
        Position("a-btc", "alpha", PERP, "long", 0.5, 50_000.0, 5.0, "isolated", 5_000.0),
        Position("h-eth", "hedge", ETH_PERP, "short", 2.0, 3_100.0, 3.0, "cross"),
    ),
)
EQUITY = 20_000.0 + 5_000.0 + 5_000.0 + 200.0


def equity(book: Portfolio) -> float:
    return compute(book, MARKET).totals.equity


def test_the_book_starts_at_the_hand_equity():
    assert equity(BOOK) == pytest.approx(EQUITY)


def test_adding_an_isolated_position_moves_its_margin_from_the_cross_wallet():
    # 0.2 BTC 5x at the mark 60,000: 12,000 / 5 = 2,400 leaves the cross wallet.
    out = whatif.add(BOOK, MARKET, "alpha", "BTC/USDT:USDT long 0.2 mark 5")
    new = out.portfolio.position(out.new_id)
    assert (new.entry_price, new.margin_usd) == (60_000.0, pytest.approx(2_400.0))
    assert out.portfolio.collateral_usd == pytest.approx(17_600.0)
    assert equity(out.portfolio) == pytest.approx(EQUITY)  # no new money
    assert "moved 2,400.00 from the cross wallet to a-btc-2" in out.effect
    # Its leverage then changes the margin, not the equity.
    again = whatif.edit(out.portfolio, MARKET, out.new_id, "leverage", "2")
    assert again.portfolio.position(out.new_id).margin_usd == pytest.approx(6_000.0)
    assert equity(again.portfolio) == pytest.approx(EQUITY)


def test_doubling_an_isolated_size_adds_margin_at_the_mark_and_averages_the_entry():
    # x2: +0.5 BTC at 60,000 -> +6,000 margin (5x kept); entry (0.5 x 50,000 + 0.5 x 60,000)
    # / 1.0 = 55,000. Effective leverage 60,000 / 11,000 = 5.45x (was 30,000 / 5,000 = 6x).
    out = whatif.edit(BOOK, MARKET, "a-btc", "size", "x2")
    p = out.portfolio.position("a-btc")
    assert (p.size, p.entry_price, p.leverage) == (1.0, pytest.approx(55_000.0), 5.0)
    assert p.margin_usd == pytest.approx(11_000.0)
    assert out.portfolio.collateral_usd == pytest.approx(14_000.0)
    assert equity(out.portfolio) == pytest.approx(EQUITY)
    row = compute(out.portfolio, MARKET).position("a-btc")
    assert row.leverage == pytest.approx(60_000.0 / 11_000.0)


def test_reducing_a_size_realises_its_share_of_upnl_and_frees_margin():
    # Half closed at 60,000: realised 5,000 x 1/2 = +2,500. Margin 5,000 -> kept
    # max(5,000 / 2, 0.25 x 60,000 / 5 = 3,000) = 3,000, so 2,000 is freed.
    # Cross wallet 20,000 + 2,500 + 2,000 = 24,500.
    out = whatif.edit(BOOK, MARKET, "a-btc", "size", "-50%")
    p = out.portfolio.position("a-btc")
    assert (p.size, p.entry_price, p.margin_usd) == (0.25, 50_000.0, pytest.approx(3_000.0))
    assert out.portfolio.collateral_usd == pytest.approx(24_500.0)
    assert equity(out.portfolio) == pytest.approx(EQUITY)
    assert "realised +2,500.00" in out.effect and "moved 2,000.00 from a-btc" in out.effect


def test_raising_leverage_frees_margin_down_to_the_new_initial_margin_and_lowering_takes_more():
    # Notional 30,000. 5x -> 10x: IM 6,000 -> 3,000; margin 5,000 + 3,000 - 6,000 = 2,000 is
    # below the new IM, so it stays at 3,000: 2,000 back to the wallet (22,000).
    up = whatif.edit(BOOK, MARKET, "a-btc", "leverage", "10")
    assert up.portfolio.position("a-btc").margin_usd == pytest.approx(3_000.0)
    assert up.portfolio.collateral_usd == pytest.approx(22_000.0)
    # 5x -> 2x: IM 15,000; margin 5,000 + 15,000 - 6,000 = 14,000: 9,000 from the wallet.
    down = whatif.edit(BOOK, MARKET, "a-btc", "leverage", "2")
    assert down.portfolio.position("a-btc").margin_usd == pytest.approx(14_000.0)
    assert down.portfolio.collateral_usd == pytest.approx(11_000.0)
    assert equity(up.portfolio) == equity(down.portfolio) == pytest.approx(EQUITY)


def test_setting_the_margin_moves_the_difference_and_mode_switches_move_the_wallet():
    out = whatif.edit(BOOK, MARKET, "a-btc", "margin_usd", "8,000")
    assert out.portfolio.collateral_usd == pytest.approx(17_000.0)  # 3,000 moved in
    crossed = whatif.edit(BOOK, MARKET, "a-btc", "margin_mode", "cross")
    assert crossed.portfolio.collateral_usd == pytest.approx(25_000.0)  # its 5,000 returns
    assert crossed.portfolio.position("a-btc").margin_usd is None
    # To isolated: IM at the mark, 2 x 3,000 / 3 = 2,000, leaves the wallet.
    isolated = whatif.toggle(BOOK, MARKET, "h-eth", "margin_mode")
    assert isolated.portfolio.position("h-eth").margin_usd == pytest.approx(2_000.0)
    assert isolated.portfolio.collateral_usd == pytest.approx(18_000.0)
    for out in (crossed, isolated):
        assert equity(out.portfolio) == pytest.approx(EQUITY)


def test_closing_or_flipping_a_position_realises_it_into_the_cross_wallet():
    # Delete a-btc: +5,000 uPnL and its 5,000 margin: wallet 30,000.
    out = whatif.delete(BOOK, MARKET, "a-btc")
    assert out.portfolio.collateral_usd == pytest.approx(30_000.0)
    assert equity(out.portfolio) == pytest.approx(EQUITY)
    # Flip a-btc short: closed at 60,000 (+5,000 into the wallet), reopened at 60,000.
    flipped = whatif.toggle(BOOK, MARKET, "a-btc", "side")
    p = flipped.portfolio.position("a-btc")
    assert (p.side, p.entry_price) == ("short", 60_000.0)
    assert flipped.portfolio.collateral_usd == pytest.approx(25_000.0)
    assert equity(flipped.portfolio) == pytest.approx(EQUITY)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        # 10 BTC 1x isolated needs 600,000 of margin; the wallet holds 20,000.
        (
            lambda b: whatif.add(b, MARKET, "alpha", "BTC/USDT:USDT long 10"),
            "the cross wallet holds 20,000.00; add collateral (c) or lower the size",
        ),
        # A cross add needs free margin: 20,000 + 200 - 2,000 (h-eth's IM) = 18,200 free;
        # 1 BTC cross at 1x needs 60,000.
        (
            lambda b: whatif.add(b, MARKET, "alpha", "BTC/USDT:USDT long 1 mark 1 cross"),
            "has 18,200.00 of free margin",
        ),
        # 150x on a 30,000 notional: tier 1 allows 125x.
        (
            lambda b: whatif.edit(b, MARKET, "a-btc", "leverage", "150"),
            "150x is above the 125x maximum",
        ),
        # Raising the margin to 30,000 takes 25,000 from a 20,000 wallet.
        (
            lambda b: whatif.edit(b, MARKET, "a-btc", "margin_usd", "30000"),
            "the cross wallet holds 20,000.00",
        ),
        (lambda b: whatif.edit(b, MARKET, "a-btc", "size", "1,5"), "ambiguous"),
        (lambda b: whatif.edit(b, MARKET, "a-btc", "size", "abc"), "not a number"),
        (lambda b: whatif.edit(b, MARKET, "h-eth", "margin_usd", "100"), "no isolated wallet"),
        (lambda b: whatif.edit(b, MARKET, "nope", "size", "1"), "no position, holding"),
    ],
)
def test_refused_edits_say_why_and_leave_the_draft_alone(action, message):
    before = BOOK
    with pytest.raises(EditError, match=message.replace("(", r"\(").replace(")", r"\)")):
        action(BOOK)
    assert BOOK == before and BOOK.collateral_usd == 20_000.0


def test_a_size_that_moves_the_notional_into_a_tier_with_a_lower_maximum_is_refused():
    # 60x isolated long of 0.5 BTC (30,000, tier 1, 125x max). 20 BTC is 1,200,000: tier 4
    # allows 20x, so 60x is refused with that maximum.
    book = Portfolio(
        collateral_usd=1e7,
        positions=(Position("l", "alpha", PERP, "long", 0.5, 60_000.0, 60.0, margin_usd=500.0),),
    )
    with pytest.raises(EditError, match="60x is above the 20x maximum .* 1,200,000.00"):
        whatif.edit(book, MARKET, "l", "size", "20")
    assert whatif.edit(book, MARKET, "l", "size", "4").portfolio.position("l").size == 4.0


EDITS = st.sampled_from(
    [
        ("edit", "a-btc", "size", "+20%"),
        ("edit", "a-btc", "size", "-30%"),
        ("edit", "a-btc", "leverage", "10"),
        ("edit", "a-btc", "leverage", "2"),
        ("edit", "a-btc", "margin_usd", "+10%"),
        ("toggle", "a-btc", "margin_mode", ""),
        ("toggle", "a-btc", "side", ""),
        ("edit", "h-eth", "size", "x1.5"),
        ("edit", "h-eth", "size", "-50%"),
        ("toggle", "h-eth", "margin_mode", ""),
        ("toggle", "h-eth", "side", ""),
        ("add", "alpha", "ETH/USDT:USDT long 1 mark 4", ""),
        ("add", "hedge", "BTC/USDT:USDT short 0.05 mark 3 cross", ""),
        ("delete", "a-btc", "", ""),
        ("delete", "a-eth", "", ""),
    ]
)


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(EDITS, min_size=1, max_size=8))
def test_edits_that_move_no_money_in_keep_equity_constant_at_fixed_prices(steps):
    book = BOOK
    for kind, target, field, text in steps:
        try:
            if kind == "edit":
                out = whatif.edit(book, MARKET, target, field, text)
            elif kind == "toggle":
                out = whatif.toggle(book, MARKET, target, field)
            elif kind == "add":
                out = whatif.add(book, MARKET, target, field)
            else:
                out = whatif.delete(book, MARKET, target)
        except (EditError, KeyError):
            continue  # refused (or the row is gone): the draft stays as it was
        book = out.portfolio
        assert book.collateral_usd >= -1e-6
        assert equity(book) == pytest.approx(EQUITY, rel=1e-12, abs=1e-6)


# --- the command line ------------------------------------------------------------------


def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "report", "--replay", "data/demo.jsonl", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_what_if_applies_edits_in_order_and_lists_their_effects():
    # The demo: cross wallet 30,000; a-eth isolated 8 ETH 2x with 10,000 margin.
    plain = json.loads(report("--json").stdout)
    done = report(
        "--json",
        "--add",
        "alpha BTC/USDT:USDT long 0.2 mark 5",
        "--edit",
        "a-btc leverage 4",
        "--delete",
        "a-eth",
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [w["edit"] for w in doc["whatif"]] == [
        "add alpha BTC/USDT:USDT long 0.2 mark 5",
        "a-btc leverage 4",
        "delete a-eth",
    ]
    mark = next(p["mark_price"] for p in plain["positions"] if p["id"] == "h-btc")
    # 0.2 x mark / 5 moved out, then / 4 - / 5 more, then a-eth's 10,000 + uPnL back.
    eth = next(p for p in plain["positions"] if p["id"] == "a-eth")
    expected = 30_000.0 - 0.2 * mark / 4 + 10_000.0 + eth["unrealized_pnl_usd"]
    assert doc["totals"]["collateral_usd"] == pytest.approx(expected)
    assert doc["totals"]["equity"] == pytest.approx(plain["totals"]["equity"])
    assert "moved" in doc["whatif"][0]["effect"]
    assert "whatif" not in plain


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--edit", "a-eth size 1,5"), "ambiguous"),
        (("--edit", "a-eth leverage zero"), "not a number"),
        (("--add", "alpha BTC/USDT:USDT long 5"), "the cross wallet holds 30,000.00"),
        (("--delete", "nope"), "no such position"),
        (("--edit", "a-eth"), "an edit is TARGET FIELD VALUE"),
    ],
)
def test_cli_refused_edit_exits_2_with_its_message_and_prints_no_report(flags, message):
    done = report("--json", *flags)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
