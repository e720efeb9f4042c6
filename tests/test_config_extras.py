"""Keys the app does not use survive a save: nothing a user wrote is lost."""

from __future__ import annotations

import tomllib

from core import edits
from core.config import load_portfolio, save_portfolio

PORTFOLIO = """[account]
collateral_usd = 100.0
broker = "main"

[[holdings]]
asset = "BTC"
qty = 1.0
wallet = "cold"

[[hedges]]
id = "h"
symbol = "BTC/USDT:USDT"
side = "short"
size = 1.0
entry_price = 60000.0
leverage = 2.0
note = "roll in March"
tags = ["core", "btc"]
"""


def test_unknown_keys_in_rows_and_account_survive_an_edit_and_save(tmp_path):
    path = tmp_path / "portfolio.toml"
    path.write_text(PORTFOLIO)
    loaded = load_portfolio(path)
    edited = edits.edit_position(loaded.portfolio, "h", "size", "0.5")
    save_portfolio(edited, path, loaded.fingerprint, loaded.extra)
    data = tomllib.loads(path.read_text())
    assert data["account"] == {"collateral_usd": 100.0, "broker": "main"}
    assert data["holdings"] == [{"asset": "BTC", "qty": 1.0, "wallet": "cold"}]
    (hedge,) = data["hedges"]
    assert hedge["size"] == 0.5
    assert hedge["note"] == "roll in March" and hedge["tags"] == ["core", "btc"]


def test_saved_file_keeps_the_design_layout_with_one_header_per_row(tmp_path):
    path = tmp_path / "portfolio.toml"
    path.write_text(PORTFOLIO)
    loaded = load_portfolio(path)
    save_portfolio(loaded.portfolio, path, loaded.fingerprint, loaded.extra)
    text = path.read_text()
    assert '[[holdings]]\nasset = "BTC"' in text
    assert '[[hedges]]\nid = "h"' in text
    assert load_portfolio(path).portfolio == loaded.portfolio
