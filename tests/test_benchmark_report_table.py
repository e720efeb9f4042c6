"""The report table printer (sped up for the 10,000-position benchmark) keeps Rich's layout."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from rich.cells import cell_len
from rich.console import Console

from benchmarks.generate import make_book
from core.engine import compute
from tui.report_text import _money, _table, print_report_table


def _printed(report, width: int = 200) -> list[str]:
    out = io.StringIO()
    print_report_table(report, Console(file=out, width=width))
    return out.getvalue().splitlines()


def test_printed_positions_table_is_the_rich_simple_head_table_line_for_line():
    book = make_book(40)
    report = compute(book.portfolio, book.market, 0.0, book.settings)
    lines = _printed(report)
    start = lines.index(next(line for line in lines if line.startswith("Position risk (USD)")))
    rich = _table("Position risk (USD)", ("id", "notional", "uPnL", "liq. price", "to liq."))
    for p in report.positions:
        liq = (
            "—"
            if p.distance_to_liquidation_pct is None
            else f"{p.distance_to_liquidation_pct:.2f}%"
        )
        rich.add_row(
            p.id,
            _money(p.notional_usd),
            _money(p.unrealized_pnl_usd),
            _money(p.liquidation_price),
            liq,
        )
    out = io.StringIO()
    Console(file=out, width=200).print(rich)
    expected = out.getvalue().splitlines()
    assert lines[start : start + len(expected)] == expected
    assert len(expected) == 40 + 5  # title, top edge, header, rule, 40 rows, bottom edge


def test_ids_are_printed_as_written_and_wide_characters_keep_the_columns_aligned():
    book = make_book(3)
    positions = list(book.portfolio.positions)
    positions[0] = replace(positions[0], id="持仓[red]x")  # markup-like text, two wide characters
    portfolio = replace(book.portfolio, positions=tuple(positions))
    lines = _printed(compute(portfolio, book.market, 0.0, book.settings))
    start = lines.index(next(line for line in lines if line.startswith("Positions")))
    table = lines[start : start + 7]
    assert table[4].startswith(" 持仓[red]x  alpha")
    # Every line of the table is as wide on screen: 持 and 仓 take two cells each.
    assert len({cell_len(line) for line in table}) == 1


def test_on_a_terminal_titles_and_headers_are_styled_and_the_text_is_the_same():
    book = make_book(12)
    report = compute(book.portfolio, book.market, 0.0, book.settings)
    styled = io.StringIO()
    print_report_table(report, Console(file=styled, force_terminal=True, width=200))
    text = styled.getvalue()
    assert "\x1b[3mPositions" in text and "\x1b[1m id " in text  # italic title, bold header
    assert re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines() == _printed(report)
