"""Venues, notes and other venues' wallets survive a load and a save; [keys] is read."""

from __future__ import annotations

from pathlib import Path

from core.config import load_config, load_portfolio, save_portfolio
from core.draft import History
from core.model import Portfolio

BOOK = """
[account]
collateral_usd = 20000.0

[accounts.bybit]
collateral_usd = 5000.0

[[holdings]]
asset = "BTC"
qty = 0.5
venue = "bybit"
note = "cold [wallet]\\nsecond line"

[[hedges]]
id = "h-btc"
symbol = "BTC/USDT:USDT"
side = "short"
size = 0.25
entry_price = 70000.0
leverage = 3.0
venue = "binance"
note = "hedge until the Dec unlock"
"""


def test_venues_notes_and_other_wallets_round_trip_through_a_save(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.toml"
    path.write_text(BOOK)
    loaded = load_portfolio(path)
    book = loaded.portfolio
    assert dict(book.accounts) == {"bybit": 5000.0}
    assert book.holdings[0].venue == "bybit"
    assert book.holdings[0].note == "cold [wallet]\nsecond line"
    assert book.positions[0].venue == "binance"
    assert book.positions[0].note == "hedge until the Dec unlock"
    save_portfolio(book, path, loaded.fingerprint, loaded.extra)
    again = load_portfolio(path).portfolio
    assert again == book
    assert dict(again.accounts) == {"bybit": 5000.0}


def test_feed_exchanges_and_keymap_are_read_from_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[feed]\nkind = "replay"\nexchanges = ["bybit", "binance"]\n'
        '[keys]\nundo = "z"\nhelp = "f1,question_mark"\n'
    )
    config = load_config(path)
    assert config.feed.exchanges == ("bybit", "binance")
    assert config.feed.exchange == "bybit"  # the first venue is the default one
    assert dict(config.keys) == {"undo": "z", "help": "f1,question_mark"}


def test_undo_history_keeps_a_bounded_number_of_steps() -> None:
    history = History(Portfolio(collateral_usd=0.0), limit=3)
    for wallet in range(1, 11):
        history.push(Portfolio(collateral_usd=float(wallet)))
    undone = 0
    while history.undo():
        undone += 1
    assert undone == 3
    assert history.current.collateral_usd == 7.0
