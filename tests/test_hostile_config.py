"""Hostile config.toml / portfolio.toml: every one refused with file, line and key, none crashes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import ConfigError, load_config, load_portfolio, save_portfolio

ROOT = Path(__file__).resolve().parent.parent

PORTFOLIO = """\
[account]
collateral_usd = 20000.0

[[holdings]]
asset = "BTC"
qty = 0.5

[[hedges]]
id = "h-btc"
symbol = "BTC/USDT:USDT"
side = "short"
size = 0.25
entry_price = 70000.0
leverage = 3.0
"""

CONFIG = """\
[portfolio]
path = "portfolio.toml"

[feed]
kind = "replay"
exchanges = ["binance", "bybit"]
refresh_s = 5
stale_after_s = 120
"""


def write(folder: Path, text: str | bytes, name: str = "portfolio.toml") -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, loader=load_portfolio) -> str:
    with pytest.raises(ConfigError) as caught:
        loader(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


# -- encodings and numbers ------------------------------------------------------------------


def test_a_utf16_file_is_refused_as_utf16_not_read_as_garbage(tmp_path):
    path = write(tmp_path, PORTFOLIO.encode("utf-16"))
    assert refused(path) == f"{path}:1: the file is UTF-16 text; save it as UTF-8"


def test_utf16_without_a_byte_order_mark_is_refused_by_its_nul_bytes(tmp_path):
    path = write(tmp_path, PORTFOLIO.encode("utf-16-le"))
    assert "NUL bytes" in refused(path)


def test_invalid_utf8_names_the_line_of_the_bad_byte(tmp_path):
    # Line 6 is 'qty = 0.5'; the byte 0xff cannot start a UTF-8 character.
    raw = PORTFOLIO.encode().replace(b"qty = 0.5", b"qty = 0.5 # \xff")
    path = write(tmp_path, raw)
    assert refused(path).startswith(f"{path}:6: not valid UTF-8 (byte 0xff)")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + PORTFOLIO.encode())
    assert load_portfolio(path).portfolio.collateral_usd == 20000.0


def test_a_401_digit_number_is_refused_with_line_and_key(tmp_path):
    path = write(tmp_path, PORTFOLIO.replace("qty = 0.5", "qty = " + "9" * 401))
    assert refused(path) == f"{path}:6: holdings[0].qty: must be a finite number"


def test_a_number_beyond_any_book_is_refused(tmp_path):
    # 1e300 BTC is finite but squares and sums of it overflow every figure.
    path = write(tmp_path, PORTFOLIO.replace("qty = 0.5", "qty = 1e300"))
    assert "holdings[0].qty: is too large" in refused(path)


def test_an_integer_of_5000_digits_is_a_toml_error_not_a_crash(tmp_path):
    path = write(tmp_path, PORTFOLIO.replace("qty = 0.5", "qty = " + "9" * 5000))
    assert "invalid TOML" in refused(path)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("refresh_s = 5", "refresh_s = 1e308", ":7: feed.refresh_s: must be <= 3600 (got 1e+308)"),
        (
            "stale_after_s = 120",
            "stale_after_s = 1e308",
            ":8: feed.stale_after_s: must be <= 604800 (got 1e+308)",
        ),
        ("refresh_s = 5", "refresh_s = " + "9" * 401, ":7: feed.refresh_s: must be a finite"),
    ],
)
def test_absurd_feed_timings_are_refused_with_line_and_key(tmp_path, old, new, expected):
    path = write(tmp_path, CONFIG.replace(old, new), "config.toml")
    assert refused(path, load_config).startswith(f"{path}{expected}")


def test_huge_numbers_in_bands_and_betas_are_refused(tmp_path):
    path = write(tmp_path, CONFIG + "[bands]\ncore = [0, " + "9" * 401 + "]\n", "config.toml")
    assert "bands.core: must be [low, high]" in refused(path, load_config)
    path = write(tmp_path, CONFIG + "[betas]\nETH = 1e200\n", "config.toml")
    assert "betas.ETH: must be <= 100 (got 1e+200)" in refused(path, load_config)


def test_arrays_nested_thousands_deep_are_refused_not_a_recursion_crash(tmp_path):
    path = write(tmp_path, PORTFOLIO + "deep = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in refused(path)


# -- unknown tables and keys ------------------------------------------------------------------


def test_a_misspelt_book_is_refused_with_a_did_you_mean_hint(tmp_path):
    path = write(tmp_path, PORTFOLIO.replace("[[hedges]]", "[[hedge]]"))
    assert refused(path) == (
        f"{path}:8: hedge: unknown [[hedge]] (known: [account], [accounts.<venue>], "
        "[[holdings]], [[hedges]], [[alpha]]); did you mean [[hedges]]?"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[acount]\ncollateral_usd = 1.0\n", ": acount: unknown [acount] "),
        ("[[holding]]\nasset = 'ETH'\nqty = 1.0\n", "did you mean [[holdings]]?"),
        ("[[alphas]]\nid = 'x'\n", "did you mean [[alpha]]?"),
    ],
)
def test_unknown_top_level_tables_are_refused(tmp_path, text, expected):
    path = write(tmp_path, PORTFOLIO + text)
    assert expected in refused(path)


def test_an_unknown_top_level_key_is_refused_at_its_line(tmp_path):
    path = write(tmp_path, "version = 2\n" + PORTFOLIO)
    assert refused(path).startswith(f"{path}:1: version: unknown key 'version'")


def test_extra_keys_inside_rows_are_still_kept(tmp_path):
    path = write(tmp_path, PORTFOLIO + 'tags = ["core"]\n')
    assert dict(load_portfolio(path).portfolio.positions[0].extra) == {"tags": ["core"]}


def test_a_deeply_nested_extra_table_is_refused_at_load_in_no_time(tmp_path):
    # Saving this froze the app and lost the draft; now it never loads.
    path = write(tmp_path, PORTFOLIO + "x." * 800 + "y = 1\n")
    started = time.perf_counter()
    assert "hedges[0].x: nested more than 16 levels deep" in refused(path)
    assert time.perf_counter() - started < 1.0


def test_an_impossible_expiry_in_a_position_symbol_is_refused(tmp_path):
    path = write(tmp_path, PORTFOLIO.replace('"BTC/USDT:USDT"', '"BTC/USDT:USDT-999999"'))
    assert refused(path) == (
        f"{path}:10: hedges[0].symbol: 'BTC/USDT:USDT-999999': impossible expiry "
        "'999999' in the symbol"
    )


# -- empty and torn files --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n  \n", "# only a comment\n"])
def test_an_empty_portfolio_is_refused_not_read_as_an_empty_book(tmp_path, text):
    path = write(tmp_path, text)
    assert "the file is empty" in refused(path)


def test_a_saved_file_cut_short_is_refused_as_torn(tmp_path):
    path = write(tmp_path, PORTFOLIO)
    loaded = load_portfolio(path)
    save_portfolio(loaded.portfolio, path, loaded.fingerprint)
    whole = path.read_text(encoding="utf-8")
    # Cut after the holdings row: still valid TOML, but the hedge is gone.
    cut = whole[: whole.index("[[hedges]]")]
    torn = write(tmp_path, cut, "torn.toml")
    assert "the file is cut short" in refused(torn)


# -- venues ------------------------------------------------------------------------------------


def test_a_row_on_a_venue_not_followed_is_refused_naming_row_and_venue(tmp_path):
    path = write(tmp_path, PORTFOLIO + 'venue = "bybitt"\n')
    message = refused(path, lambda p: load_portfolio(p, venues=("binance", "bybit")))
    assert message == (
        f"{path}:15: hedges[0].venue: 'bybitt' is not followed ([feed] exchanges: "
        "binance, bybit); did you mean 'bybit'?"
    )


def test_an_empty_venue_is_the_default_venue(tmp_path):
    path = write(tmp_path, PORTFOLIO + 'venue = ""\n')
    assert load_portfolio(path, venues=("binance",)).portfolio.positions[0].venue == ""


def test_a_wallet_of_a_venue_not_followed_is_refused(tmp_path):
    path = write(tmp_path, PORTFOLIO + "[accounts.okx]\ncollateral_usd = 5.0\n")
    assert "venue 'okx' is not followed" in refused(
        path, lambda p: load_portfolio(p, venues=("binance", "bybit"))
    )


def test_report_exits_2_on_a_venue_not_followed(tmp_path):
    write(tmp_path, CONFIG, "config.toml")
    write(tmp_path, PORTFOLIO + 'venue = "kraken"\n')
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "report", "--config", str(tmp_path / "config.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "SYMBIOSIS_OFFLINE": "1"},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"symbiosis: {tmp_path / 'portfolio.toml'}:15: hedges[0].venue: 'kraken' is not "
        "followed ([feed] exchanges: binance, bybit)"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e-320", "must be >= 1 (got 9.99989e-321)"),
        ("0.5", "must be >= 1"),
        ("5000", "must be <= 1000"),
    ],
)
def test_a_leverage_no_exchange_offers_is_refused(tmp_path, value, expected):
    # 1e-320x would make the isolated margin (notional / leverage) infinite.
    path = write(tmp_path, PORTFOLIO.replace("leverage = 3.0", f"leverage = {value}"))
    assert refused(path).startswith(f"{path}:14: hedges[0].leverage: {expected}")
