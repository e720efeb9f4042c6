"""config.toml / portfolio.toml: located errors for bad input, atomic and conflict-safe saves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import (
    ConfigError,
    SaveConflictError,
    fingerprint_of,
    load_config,
    load_portfolio,
    save_portfolio,
)
from core.model import Holding, Position

PROJECT = Path(__file__).resolve().parent.parent

# Line numbers matter below: line 9 is hedges[0].side, 10 size, 11 entry_price, 12 leverage.
PORTFOLIO = """\
[account]
collateral_usd = 20000.0

[[holdings]]
asset = "BTC"
qty = 0.5
[[hedges]]
id = "h-btc"
side = "short"
size = 0.25
entry_price = 70000.0
leverage = 3.0
symbol = "BTC/USDT:USDT"
margin_mode = "isolated"

[[alpha]]
id = "carry-btc"
kind = "basis"
spot_qty = 0.1
symbol = "BTC/USDT:USDT-251226"
side = "short"
size = 0.1
entry_price = 72100.0
leverage = 2.0
margin_mode = "cross"
margin_usd = 3605.0
"""


def write(tmp_path: Path, text: str, name: str = "portfolio.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, text: str = PORTFOLIO) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_the_bundled_portfolio_loads():
    loaded = load_portfolio(PROJECT / "portfolio.toml")
    assert loaded.portfolio.collateral_usd == 30_000.0
    assert [p.id for p in loaded.portfolio.positions] == ["h-btc", "a-eth"]


def test_valid_portfolio_fields(tmp_path: Path):
    loaded = load_portfolio(write(tmp_path, PORTFOLIO))
    p = loaded.portfolio
    assert p.collateral_usd == 20_000.0
    assert p.holdings == (Holding("BTC", 0.5),)
    hedge, carry = p.positions
    assert hedge == Position("h-btc", "hedge", "BTC/USDT:USDT", "short", 0.25, 70_000.0, 3.0)
    assert (carry.kind, carry.spot_qty, carry.margin_mode, carry.margin_usd) == (
        "basis",
        0.1,
        "cross",
        3605.0,
    )
    assert loaded.fingerprint == fingerprint_of(loaded.path)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("size = 0.25", 'size = "0.25"', ":10: hedges[0].size: must be a number, not '0.25'"),
        (
            'side = "short"',
            'side = "sideways"',
            ":9: hedges[0].side: must be one of 'long', 'short'",
        ),
        ("size = 0.25", "size = 0", ":10: hedges[0].size: must be > 0 (got 0)"),
        ("entry_price = 70000.0", "entry_price = -1.0", ":11: hedges[0].entry_price: must be > 0"),
        ("leverage = 3.0", "leverage = 0.0", ":12: hedges[0].leverage: must be > 0"),
        ("size = 0.25", "size = nan", ":10: hedges[0].size: must be a finite number"),
        (
            "entry_price = 70000.0",
            "entry_price = inf",
            ":11: hedges[0].entry_price: must be a finite",
        ),
        (
            "leverage = 3.0",
            "leverage = true",
            ":12: hedges[0].leverage: must be a number, not True",
        ),
        (
            'margin_mode = "isolated"',
            'margin_mode = "portfolio"',
            ":14: hedges[0].margin_mode: must be one of 'isolated', 'cross' (got 'portfolio')",
        ),
        (
            'symbol = "BTC/USDT:USDT"',
            'symbol = "BTC/USD:BTC"',
            ":13: hedges[0].symbol: 'BTC/USD:BTC' is an inverse (coin-settled) contract",
        ),
        (
            'symbol = "BTC/USDT:USDT"',
            'symbol = "BTC/USDT"',
            ":13: hedges[0].symbol: must be a ccxt futures symbol",
        ),
        (
            'id = "h-btc"\n',
            'kind = "basis"\n',
            ":8: hedges[0].kind: basis trades belong in [[alpha]]",
        ),
        ('id = "h-btc"\n', "", ":7: hedges[0].id: is missing"),
        ("qty = 0.5", "qty = -0.5", ":6: holdings[0].qty: must be >= 0 (got -0.5)"),
        (
            "collateral_usd = 20000.0",
            "collateral_usd = -1",
            ":2: account.collateral_usd: must be >= 0",
        ),
        (
            'id = "carry-btc"',
            'id = "h-btc"',
            ":17: alpha[0].id: 'h-btc' is already used in [[hedges]]",
        ),
        ("spot_qty = 0.1\n", "", ":16: alpha[0].spot_qty: is missing"),
        ("margin_usd = 3605.0", "margin_usd = 0", ":26: alpha[0].margin_usd: must be > 0"),
    ],
)
def test_each_invalid_field_names_file_line_and_key(
    tmp_path: Path, old: str, new: str, expected: str
):
    path = write(tmp_path, edited(old, new))
    with pytest.raises(ConfigError) as caught:
        load_portfolio(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{expected}"), message
    assert "\n" not in message


def test_duplicate_holding_asset_is_an_error(tmp_path: Path):
    text = PORTFOLIO.replace("qty = 0.5\n", 'qty = 0.5\n[[holdings]]\nasset = "BTC"\nqty = 1\n', 1)
    with pytest.raises(
        ConfigError, match=r"portfolio.toml:8: holdings\[1\].asset: 'BTC' is listed"
    ):
        load_portfolio(write(tmp_path, text))


def test_malformed_toml_names_file_and_line(tmp_path: Path):
    path = write(tmp_path, edited("size = 0.25", "size = "))
    with pytest.raises(ConfigError) as caught:
        load_portfolio(path)
    assert str(caught.value) == f"{path}:10: size: invalid TOML (Invalid value)"
    path = write(tmp_path, edited("[[alpha]]", "[[alpha]"))
    with pytest.raises(ConfigError, match=r"portfolio.toml:16: invalid TOML \(Expected"):
        load_portfolio(path)


def test_a_table_where_an_array_of_tables_belongs(tmp_path: Path):
    path = write(tmp_path, '[hedges]\nid = "x"\n')
    with pytest.raises(ConfigError, match=r"portfolio.toml: hedges: must be an array of tables"):
        load_portfolio(path)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="nope.toml: file not found"):
        load_portfolio(tmp_path / "nope.toml")


# --- config.toml ------------------------------------------------------------------------

CONFIG = """\
stablecoins = ["USDT", "USDC"]

[portfolio]
path = "book/portfolio.toml"

[feed]
kind = "replay"
replay = "data/demo.jsonl"

[betas]
ETH = 1.2

[bands]
core = [40, 70]
hedge = [0, 30]
alpha = [10, 30]

[alerts]
margin_ratio_warn = 0.5
margin_ratio_danger = 0.8

[margin]
default_mmr = 0.01
"""


def test_config_resolves_paths_from_its_folder_and_reads_settings(tmp_path: Path):
    config = load_config(write(tmp_path, CONFIG, "config.toml"))
    assert config.portfolio_path == tmp_path / "book" / "portfolio.toml"
    assert config.feed.replay == tmp_path / "data" / "demo.jsonl"
    s = config.settings
    assert dict(s.betas) == {"ETH": 1.2}
    assert s.bands["alpha"] == (10.0, 30.0)
    assert (s.margin_ratio_warn, s.margin_ratio_danger, s.default_mmr) == (0.5, 0.8, 0.01)
    assert s.stablecoins == ("USDT", "USDC")


def test_bundled_config_loads():
    config = load_config(PROJECT / "config.toml")
    assert config.portfolio_path == PROJECT / "portfolio.toml"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("core = [40, 70]", "core = [70, 40]", ":14: bands.core: must be [low, high] percent"),
        ("core = [40, 70]", "core = [40]", ":14: bands.core: must be [low, high]"),
        ("hedge = [0, 30]", "hedge = [0, inf]", ":15: bands.hedge: must be [low, high]"),
        ("alpha = [10, 30]", 'alpha = ["10", 30]', ":16: bands.alpha: must be [low, high]"),
        ("alpha = [10, 30]", "beta = [10, 30]", ":16: bands.beta: unknown band"),
        (
            "margin_ratio_danger = 0.8",
            "margin_ratio_danger = 0.4",
            ":20: alerts.margin_ratio_danger: must be above margin_ratio_warn (0.5)",
        ),
        (
            "margin_ratio_warn = 0.5",
            "margin_ratio_warn = 50",
            ":19: alerts.margin_ratio_warn: must be <= 1, a fraction (got 50)",
        ),
        ("margin_ratio_warn = 0.5", 'margin_ratio_warn = "half"', ":19: alerts.margin_ratio_warn"),
        ("margin_ratio_warn = 0.5", "margin_ratio_warn = -0.1", ":19: alerts.margin_ratio_warn"),
        ("ETH = 1.2", 'ETH = "high"', ":11: betas.ETH: must be a number"),
        ("ETH = 1.2", "ETH = nan", ":11: betas.ETH: must be a finite number"),
        ('kind = "replay"', 'kind = "websocket"', ":7: feed.kind: must be one of 'ccxt', 'replay'"),
        ("default_mmr = 0.01", "default_mmr = 1.5", ":23: margin.default_mmr: must be < 1"),
        (
            'stablecoins = ["USDT", "USDC"]',
            'stablecoins = "USDT"',
            ":1: stablecoins: must be a list",
        ),
    ],
)
def test_bad_config_values_name_file_line_and_key(
    tmp_path: Path, old: str, new: str, expected: str
):
    path = write(tmp_path, edited(old, new, CONFIG), "config.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}{expected}"), str(caught.value)


def test_a_key_that_must_be_a_table_is_reported_at_its_top_level_line(tmp_path: Path):
    path = write(tmp_path, "alerts = 3\n" + CONFIG.replace("[alerts]", "[other]"), "config.toml")
    with pytest.raises(ConfigError, match=r"config.toml:1: alerts: must be a table"):
        load_config(path)


# --- saving ------------------------------------------------------------------------------

# Keys the app does not use, inside known rows: kept through a save.
EXTRA = """
[alpha.notes]
text = "kept as written"
tags = ["a", "b"]

[[alpha.watchlist]]
symbol = "SOL/USDT"
"""


def test_save_then_load_round_trips_exactly_with_extra_keys_of_rows_kept(tmp_path: Path):
    original = load_portfolio(write(tmp_path, PORTFOLIO + EXTRA))
    assert dict(original.portfolio.position("carry-btc").extra) == {
        "notes": {"text": "kept as written", "tags": ["a", "b"]},
        "watchlist": [{"symbol": "SOL/USDT"}],
    }
    copy = tmp_path / "copy.toml"
    fingerprint = save_portfolio(original.portfolio, copy, "", original.extra)
    again = load_portfolio(copy)
    assert again.portfolio == original.portfolio
    assert dict(again.portfolio.position("carry-btc").extra) == dict(
        original.portfolio.position("carry-btc").extra
    )
    assert again.fingerprint == fingerprint == fingerprint_of(copy)
    # Saving the reloaded book gives the same bytes: a fixed point.
    before = copy.read_bytes()
    save_portfolio(again.portfolio, copy, again.fingerprint, again.extra)
    assert copy.read_bytes() == before


def test_save_keeps_the_previous_file_as_bak(tmp_path: Path):
    path = write(tmp_path, PORTFOLIO)
    loaded = load_portfolio(path)
    changed = loaded.portfolio.replace_position(
        "h-btc", Position("h-btc", "hedge", "BTC/USDT:USDT", "short", 0.5, 70_000.0, 3.0)
    )
    save_portfolio(changed, path, loaded.fingerprint, loaded.extra)
    assert (tmp_path / "portfolio.toml.bak").read_text(encoding="utf-8") == PORTFOLIO
    assert load_portfolio(path).portfolio.position("h-btc").size == 0.5


def test_interrupted_save_leaves_old_file_intact_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = write(tmp_path, PORTFOLIO)
    loaded = load_portfolio(path)
    changed = loaded.portfolio.replace_position(
        "h-btc", Position("h-btc", "hedge", "BTC/USDT:USDT", "long", 9.0, 1.0, 1.0)
    )

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        save_portfolio(changed, path, loaded.fingerprint)
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == PORTFOLIO
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert all(not name.endswith(".tmp") for name in leftovers), leftovers
    assert set(leftovers) <= {"portfolio.toml", "portfolio.toml.bak"}


def test_refuses_to_overwrite_a_file_changed_on_disk_since_it_was_loaded(tmp_path: Path):
    path = write(tmp_path, PORTFOLIO)
    loaded = load_portfolio(path)
    edited_elsewhere = PORTFOLIO.replace("qty = 0.5", "qty = 0.75")
    path.write_text(edited_elsewhere, encoding="utf-8")
    with pytest.raises(SaveConflictError, match="changed on disk since it was loaded"):
        save_portfolio(loaded.portfolio, path, loaded.fingerprint, loaded.extra)
    assert path.read_text(encoding="utf-8") == edited_elsewhere
    assert not (tmp_path / "portfolio.toml.bak").exists()
    # '' means "must not exist yet": an existing file is a conflict too.
    with pytest.raises(SaveConflictError):
        save_portfolio(loaded.portfolio, path, "")
    # A file deleted since it was loaded is not silently recreated either.
    path.unlink()
    with pytest.raises(SaveConflictError):
        save_portfolio(loaded.portfolio, path, loaded.fingerprint)
