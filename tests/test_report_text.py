"""The report for people (tui.report_text): its exact text, its figures, the CLI's use of it."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from core.config import load_config, load_portfolio
from core.engine import compute
from core.feeds.replay_file import load_replay_end
from core.model import Holding, Portfolio, Position
from core.report import Report
from tests.conftest import BTC_TIERS, make_market
from tui.report_text import print_report_table

PROJECT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "report_text" / "hedged_btc_80.txt"
PERP = "BTC/USDT:USDT"


def hedged_btc_report() -> Report:
    """0.5 BTC spot hedged by a 2x isolated short perpetual, 10,000 USDT cash."""
    market = make_market(
        {"BTC": 62_000.0},
        {PERP: 62_100.0},
        tiers={PERP: BTC_TIERS},
        funding={PERP: 0.0002},
    )
    book = Portfolio(
        collateral_usd=5_000.0,
        holdings=(Holding("BTC", 0.5), Holding("USDT", 10_000.0)),
        # margin_usd defaults to the notional at entry / leverage: 0.5 x 60,000 / 2 = 15,000
        positions=(Position("h-btc", "hedge", PERP, "short", 0.5, 60_000.0, 2.0),),
    )
    return compute(book, market)


def render(report: Report, width: int = 80) -> str:
    out = io.StringIO()
    print_report_table(report, Console(file=out, width=width))
    return out.getvalue()


def test_report_text_of_a_hedged_btc_book_is_exactly_the_recorded_text():
    # The recorded file was printed by the table code before it left tui/cli.py.
    assert render(hedged_btc_report()) == GOLDEN.read_text(encoding="utf-8")


def cells(text: str, first: str) -> list[list[str]]:
    """The cells of every row whose first cell is `first` (cells stand 2+ spaces apart)."""
    rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]
    return [row for row in rows if row[0] == first]


def test_report_text_shows_the_worked_figures_of_the_hedged_book():
    text = render(hedged_btc_report())
    # equity = spot 0.5 x 62,000 + cash 10,000 + wallet 5,000 + isolated 15,000
    #          + uPnL (60,000 - 62,100) x 0.5 x -1 = -1,050  -> 59,950.00
    assert cells(text, "equity (USD)") == [["equity (USD)", "59,950.00"]]
    # net = spot 31,000 - short notional 0.5 x 62,100 = 31,050 -> -50.00, of equity -0.08 %
    assert cells(text, "net exposure (USD)") == [["net exposure (USD)", "-50.00 (-0.08%)"]]
    assert cells(text, "unrealized PnL (USD)")[0][1] == "-1,050.00"
    # the isolated position's MM 31,050 x 0.4 % = 124.20 over its balance 15,000 - 1,050
    # = 13,950 -> 0.89 %, the only ratio (no cross position)
    assert cells(text, "margin ratio") == [["margin ratio", "0.89% (ok)"]]
    # a short receives a positive rate: 31,050 x 0.0002 = 6.21 a period
    assert cells(text, "funding per period (USD, + = received)")[0][1] == "6.21"
    # hedge ratio = 31,050 / 31,000 = 100.16 %
    assert cells(text, "BTC") == [["BTC", "31,000.00", "-31,050.00", "-50.00", "1.00", "100.16%"]]
    # isolated short, tier 1 (mmr 0.4 %, cum 0): LP = (15,000 + 0.5 x 60,000) / (0.5 x 0.004
    # + 0.5) = 45,000 / 0.502 = 89,641.43; distance = (89,641.43 - 62,100) / 62,100 = 44.35 %
    # effective leverage = notional at mark / isolated margin = 31,050 / 15,000 = 2.07x
    position, risk = cells(text, "h-btc")
    assert position == ["h-btc", "hedge", PERP, "short", "2.07x", "0.5", "60,000.00", "62,100.00"]
    assert risk == ["h-btc", "31,050.00", "-1,050.00", "89,641.43", "44.35%"]
    # basis = 62,100 - 62,000 = 100.00 = 0.161 %, no annualized figure for a perpetual;
    # funding APR = 0.02 % x 3 x 365 = 21.90 %; no next funding time in this market
    basis, funding = cells(text, PERP)
    assert basis == [PERP, "62,000.00", "62,100.00", "100.00", "0.161%", "—"]
    assert funding == [PERP, "0.0200%", "21.90%", "—"]
    assert max(len(line) for line in text.splitlines()) <= 80


def test_symbiosis_report_prints_exactly_the_report_text_of_the_demo():
    config = load_config(PROJECT / "config.toml")
    demo = PROJECT / "data" / "demo.jsonl"
    report = compute(
        load_portfolio(config.portfolio_path).portfolio, load_replay_end(demo), 0.0, config.settings
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tui.cli import main; sys.exit(main())",
            "report",
            "--replay",
            str(demo),
        ],
        cwd=PROJECT,
        env={**os.environ, "SYMBIOSIS_OFFLINE": "1", "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == render(report)
