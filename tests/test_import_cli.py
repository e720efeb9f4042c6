"""`symbiosis import` end to end on recorded exchange answers: diff, consent, write, ledger.

The command runs in-process (`tui.cli.main`) so that the exchanges it makes can have
their HTTP layer answer from ccxt's recorded responses; everything else is real: the
config and portfolio files on disk, the atomic save, the Parquet ledger.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import ccxt
import polars as pl
import pytest

from core.config import load_config, load_portfolio
from tests.test_import_venues import offline_exchange, read_only_keys  # noqa: F401
from tui import import_cli
from tui.cli import Session, UsageError, main

CONFIG = """
[portfolio]
path = "portfolio.toml"

[feed]
kind = "replay"
exchanges = ["binance", "bybit"]
"""

PORTFOLIO = """
[account]
collateral_usd = 20000.0

[[holdings]]
asset = "BTC"
qty = 0.5
note = "cold wallet"

[[alpha]]
id = "a-eth"
symbol = "ETH/USDT:USDT"
side = "long"
size = 5.0
entry_price = 3500.0
leverage = 2.0
margin_mode = "isolated"
"""

EXPECTED_BINANCE_DIFF = [
    "  ~ [account] (binance) collateral_usd 20,000 -> 31.022612",
    "  + [[holdings]] ETH qty 0.02229833 (binance)",
    "  + [[holdings]] LTC qty 0.919741 (binance)",
    "  + [[alpha]] a-btc BTC/USDT:USDT long 0.009 @ 67,445.9 20x cross (binance)",
]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "portfolio.toml").write_text(PORTFOLIO)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(import_cli, "exchange_factory", lambda venue: offline_exchange(venue)[0])
    return {
        "config": tmp_path / "config.toml",
        "portfolio": tmp_path / "portfolio.toml",
        "ledger": tmp_path / "data" / "symbiosis" / "funding_ledger.parquet",
    }


def run(files: dict[str, Path], *args: str) -> int:
    return main(["import", "--config", str(files["config"]), *args])


def test_dry_run_prints_the_diff_it_would_write_and_writes_nothing(files, capsys):
    before = files["portfolio"].read_bytes()
    assert run(files, "--exchange", "binance", "--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Changes to {files['portfolio']} from binance:"
    assert out[1:5] == EXPECTED_BINANCE_DIFF
    assert "funding: 1 payments read, 1 new for the ledger" in out[5]
    assert out[-1] == "dry run: nothing written."
    assert files["portfolio"].read_bytes() == before
    assert not files["ledger"].exists()
    assert not (files["portfolio"].parent / "portfolio.toml.bak").exists()


def test_yes_writes_the_merge_keeps_manual_rows_and_a_second_import_changes_nothing(files, capsys):
    assert run(files, "--exchange", "binance", "--exchange", "bybit", "--yes") == 0
    out = capsys.readouterr().out
    assert f"wrote {files['portfolio']}" in out
    assert "funding ledger: 4 payments added" in out
    portfolio = load_portfolio(files["portfolio"]).portfolio
    btc = next(h for h in portfolio.holdings if h.asset == "BTC")
    # The manual BTC row stays as written; bybit's 0.85581394 BTC is reported, not added.
    assert (btc.qty, btc.venue, btc.note) == (0.5, "", "cold wallet")
    assert "0.85581394 BTC not imported" in out
    assert portfolio.position("a-eth").entry_price == 3500.0  # manual alpha row kept
    ltc = {p.venue: p for p in portfolio.positions if p.symbol == "LTC/USDT:USDT"}
    # LTC is held spot (binance's 0.919741), but the bybit LTC position is a long: alpha.
    assert ltc["bybit"].book == "alpha" and ltc["bybit"].size == 1.2
    assert portfolio.collateral_usd == 31.022612
    assert dict(portfolio.accounts) == {"bybit": 9170.45910527}
    assert "imported = true" in files["portfolio"].read_text()
    assert load_config(files["config"]).feed.exchanges == ("binance", "bybit")

    written = files["portfolio"].read_bytes()
    assert run(files, "--exchange", "binance", "--exchange", "bybit", "--yes") == 0
    out = capsys.readouterr().out
    assert "is up to date with binance, bybit: nothing to change." in out
    assert "funding: 4 payments read, 0 new for the ledger" in out
    assert files["portfolio"].read_bytes() == written
    ledger = pl.read_parquet(files["ledger"])
    assert ledger.height == 4 and ledger.select(["venue", "id"]).is_unique().all()


def test_an_unfollowed_venue_is_refused_before_anything_is_read(files, capsys):
    assert run(files, "--exchange", "okx", "--dry-run") == 2
    err = capsys.readouterr().err
    assert err.startswith("symbiosis: okx: not a followed venue; add it to [feed] exchanges")


def test_a_venue_the_import_cannot_read_is_refused_as_bad_input(files, capsys):
    files["config"].write_text(CONFIG.replace('["binance", "bybit"]', '["binance", "kraken"]'))
    assert run(files, "--exchange", "kraken", "--dry-run") == 2
    assert capsys.readouterr().err == (
        "symbiosis: kraken: import is not supported (supported: binance, bybit, okx)\n"
    )


def test_without_a_terminal_it_needs_yes_or_dry_run(files, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert run(files, "--exchange", "binance") == 2
    assert "pass --yes to write or --dry-run" in capsys.readouterr().err


def session_for(files: dict[str, Path]) -> Session:
    config = load_config(files["config"])
    return Session(config, load_portfolio(files["portfolio"]), None)


def args(*venues: str, dry_run: bool = False, yes: bool = False) -> argparse.Namespace:
    return argparse.Namespace(exchanges=list(venues), dry_run=dry_run, yes=yes)


def test_on_a_terminal_it_asks_and_no_writes_nothing(files, capsys):
    before = files["portfolio"].read_bytes()
    questions: list[str] = []

    def answer(question: str) -> str:
        questions.append(question)
        return "n"

    code = import_cli.run_import_command(
        args("binance"), session_for(files), UsageError, ask=answer, is_terminal=lambda: True
    )
    assert code == 0
    assert questions == [f"Write 4 changes to {files['portfolio']}? [y/N] "]
    assert capsys.readouterr().out.endswith("nothing written.\n")
    assert files["portfolio"].read_bytes() == before and not files["ledger"].exists()


def test_a_file_changed_while_asking_is_not_overwritten(files, capsys):
    session = session_for(files)

    def edit_meanwhile(question: str) -> str:
        files["portfolio"].write_text(PORTFOLIO + "\n# edited by hand meanwhile\n")
        return "y"

    code = import_cli.run_import_command(
        args("binance"), session, UsageError, ask=edit_meanwhile, is_terminal=lambda: True
    )
    assert code == 1
    assert "changed on disk since it was loaded; not overwritten" in capsys.readouterr().err
    assert files["portfolio"].read_text().endswith("# edited by hand meanwhile\n")


def test_a_refused_key_exits_1_with_one_line_and_writes_nothing(files, capsys, monkeypatch):
    def refusing(venue: str) -> Any:
        exchange, http = offline_exchange(venue)
        http.errors["/api/v3/account"] = (
            401,
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        )
        return exchange

    monkeypatch.setattr(import_cli, "exchange_factory", refusing)
    before = files["portfolio"].read_bytes()
    assert run(files, "--exchange", "binance", "--yes") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("symbiosis: binance: the API key was refused")
    assert files["portfolio"].read_bytes() == before and not files["ledger"].exists()


def test_no_key_value_reaches_any_output_or_file(files, capsys, monkeypatch):
    markers = [v for k, v in os.environ.items() if k.startswith("SYMBIOSIS_")]
    assert len(markers) == 7  # key and secret of three venues, OKX's password

    def echoing(venue: str) -> Any:
        exchange, http = offline_exchange(venue)
        real = http.__call__

        async def fetch(url: str, method: str = "GET", headers=None, body=None) -> Any:
            if "/fapi/v3/positionRisk" in url:
                key = exchange.apiKey
                raise ccxt.ExchangeError(f"bad request {key} {url}")
            return await real(url, method, headers, body)

        exchange.fetch = fetch
        return exchange

    outputs = []
    assert run(files, "--exchange", "binance", "--exchange", "bybit", "--yes") == 0
    outputs.append(capsys.readouterr())
    assert run(files, "--exchange", "binance", "--dry-run") == 0
    outputs.append(capsys.readouterr())
    monkeypatch.setattr(import_cli, "exchange_factory", echoing)
    assert run(files, "--exchange", "binance", "--yes") == 1
    outputs.append(capsys.readouterr())
    assert "[redacted]" in outputs[-1].err
    texts = [o.out + o.err for o in outputs]
    root = files["config"].parent
    texts += [p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file()]
    assert len(texts) >= 6
    for marker in markers:
        assert all(marker not in text for text in texts), marker


def test_the_installed_command_without_keys_exits_1_with_one_line(files, tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMBIOSIS_")}
    env["SYMBIOSIS_OFFLINE"] = "1"
    before = files["portfolio"].read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "import", "--config", str(files["config"]), "--yes"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "symbiosis: binance: no read-only API key: set SYMBIOSIS_BINANCE_API_KEY and "
        "SYMBIOSIS_BINANCE_SECRET or store them in the OS keyring\n"
    )
    assert files["portfolio"].read_bytes() == before


def test_an_unreadable_ledger_stops_the_import_and_is_left_as_it_is(files, capsys):
    files["ledger"].parent.mkdir(parents=True)
    files["ledger"].write_bytes(b"not parquet at all")
    before = files["portfolio"].read_bytes()
    assert run(files, "--exchange", "binance", "--yes") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"symbiosis: {files['ledger']}: not a readable funding ledger")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert files["ledger"].read_bytes() == b"not parquet at all"
    assert files["portfolio"].read_bytes() == before
