"""A repaint writes only what changed, and never leaves a stale line.

Pilot tests on the real app: a spy on each table's render_line records which
lines Textual re-rendered (a line is only written to the terminal when it is
re-rendered). After every change the screen as painted must equal the screen
rendered from scratch: every widget is refreshed whole and the two screenshots
compared, so a line that should have been repainted and was not shows up as a
difference.
"""

from __future__ import annotations

from dataclasses import replace

from rich.segment import Segment
from rich.style import Style
from textual.containers import Vertical
from textual.strip import Strip

from tests.tui_helpers import make_app, make_workspace
from tui.widgets.book_table import BookTable, changed_end
from tui.widgets.panes import Pane

TABLES = ("holdings", "hedge", "alpha", "basis")


def spy_on_lines(app) -> dict[str, list[int]]:
    """The lines each table renders from now on, by book."""
    rendered: dict[str, list[int]] = {book: [] for book in TABLES}
    for book in TABLES:
        table = app.main.table(book)
        render_line = table.render_line

        def spy(y: int, render_line=render_line, lines=rendered[book]) -> Strip:
            lines.append(y)
            return render_line(y)

        table.render_line = spy
    return rendered


def clear(rendered: dict[str, list[int]]) -> None:
    for lines in rendered.values():
        lines.clear()


def screen_rows(app) -> list[list[tuple[str, Style | None]]]:
    """The screen as Textual would write it now, row by row: (text, style) per cell
    run. Lines not marked for repainting come from the widgets' caches, so a line
    that should have been repainted and was not is here as it is on the terminal."""
    rows = []
    for strip in app.screen._compositor.render_strips():
        rows.append([(text, style) for text, style, _ in strip.simplify()])
    return rows


def row_text(row: list[tuple[str, Style | None]]) -> str:
    return "".join(text for text, _ in row)


def assert_same_rows(painted, fresh, skip: frozenset[int] = frozenset()) -> None:
    stale = [y for y, (a, b) in enumerate(zip(painted, fresh, strict=True)) if a != b]
    stale = [y for y in stale if y not in skip]
    report = [
        f"row {y}:\n  painted {row_text(painted[y])!r}\n  fresh   {row_text(fresh[y])!r}"
        + ("" if row_text(painted[y]) != row_text(fresh[y]) else "\n  (styles differ)")
        for y in stale[:6]
    ]
    assert not stale, "stale rows on screen:\n" + "\n".join(report)


async def assert_painted_is_fresh(pilot) -> None:
    """What is on screen equals the screen rendered from scratch."""
    app = pilot.app
    await pilot.pause()
    painted = screen_rows(app)
    for widget in app.screen.walk_children(with_self=True):
        widget.refresh()
    await pilot.pause()
    assert_same_rows(painted, screen_rows(app))


def moved_mark(market, symbol: str, factor: float):
    """The market with one contract's mark (and last price) moved by `factor`."""
    quote = market.contracts[symbol]
    moved = replace(quote, mark=quote.mark * factor)
    return replace(market, contracts={**market.contracts, symbol: moved})


def many_alpha_positions(n: int) -> str:
    """The demo book with `n` alpha positions: more rows than the alpha pane shows."""
    lines = [
        "[account]",
        "collateral_usd = 30000.0",
        "",
        "[[holdings]]",
        'asset = "ETH"',
        "qty = 12.0",
        "cost_usd = 30000.0",
    ]
    for i in range(n):
        symbol = "ETH/USDT:USDT" if i % 2 else "BTC/USDT:USDT"
        entry = 2500.0 if i % 2 else 60000.0
        lines += [
            "",
            "[[alpha]]",
            f'id = "a-{i:03d}"',
            f'symbol = "{symbol}"',
            'side = "long"',
            f"size = {0.01 * (i + 1):.2f}",
            f"entry_price = {entry}",
            "leverage = 2.0",
            'margin_mode = "isolated"',
            f"margin_usd = {100.0 + i}",
        ]
    return "\n".join(lines) + "\n"


# -- the line diff ----------------------------------------------------------------


def test_changed_end_is_the_end_of_the_last_cell_that_differs():
    plain, bold = Style(), Style(bold=True)
    old = Strip([Segment("BTC  ", plain), Segment("+1,205", bold), Segment("  ok", plain)])
    # One digit changed: cells "BTC  +1," (8) are equal, "2"->"3" is cell 9, then
    # "05  ok" is equal again, so the line needs repainting up to 9 cells.
    new = Strip([Segment("BTC  ", plain), Segment("+1,305", bold), Segment("  ok", plain)])
    assert changed_end(old, new) == 9
    # Nothing changed: nothing to repaint.
    assert changed_end(old, Strip(list(old))) == 0
    # Only the style of the figure changed: repaint to the end of that segment (5 + 6).
    restyled = Strip([Segment("BTC  ", plain), Segment("+1,205", plain), Segment("  ok", plain)])
    assert changed_end(old, restyled) == 11
    # The last cell changed: the whole line.
    last = Strip([Segment("BTC  ", plain), Segment("+1,205", bold), Segment("  no", plain)])
    assert changed_end(old, last) == 15
    # Segments cut differently but the same cells: equal tails still count as equal.
    recut = Strip([Segment("ETC  +", plain), Segment("1,205", bold), Segment("  ok", plain)])
    assert changed_end(old, recut) == 6  # "ETC  +" vs "BTC  " + "+" in another style
    # Another width (a resize): everything.
    assert changed_end(old, Strip([Segment("BTC", plain)])) == 3


# -- ticks ----------------------------------------------------------------------------


async def test_a_tick_that_moves_one_contract_repaints_only_its_lines(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        rendered = spy_on_lines(app)
        # The ETH perpetual moves 0.01 %: the alpha engine's a-eth row, the basis
        # ticker's ETH perp row and the ETH holding (its net exposure counts the alpha
        # long); too little to move a weight or a total that BTC's row shows.
        app.market_update(moved_mark(app.market, "ETH/USDT:USDT", 1.0001))
        await pilot.pause(0.4)
        assert app.report is not None
        assert app.report.position("a-eth").mark_price == app.market.mark("ETH/USDT:USDT")
        basis = app.main.table("basis")
        eth_perp = [basis.source.key(i) for i in range(len(basis.source))].index("ETH/USDT:USDT")
        assert rendered == {
            "holdings": [2],  # header, BTC, ETH
            "hedge": [],  # h-btc is on BTC: not one line
            "alpha": [1],
            "basis": [eth_perp + 1],
        }
        await assert_painted_is_fresh(pilot)


async def test_a_tick_that_moves_nothing_repaints_no_table_line(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        rendered = spy_on_lines(app)
        # The same prices again, as a new state (a feed publishes a new object).
        app.market_update(replace(app.market))
        await pilot.pause(0.4)
        assert rendered == {book: [] for book in TABLES}


async def test_a_new_pane_subtitle_repaints_its_border_line_not_its_rows(tmp_path, monkeypatch):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        pane: Pane = app.main.panes["holdings"]
        regions = []
        refresh = Vertical.refresh

        # What the pane asks Textual to repaint (Pane.refresh calls up to Vertical's).
        def spy(self, *args, **kwargs):
            if self is pane:
                regions.append(args)
            return refresh(self, *args, **kwargs)

        monkeypatch.setattr(Vertical, "refresh", spy)
        # BTC spot moves: the holdings pane's subtitle (spot value) changes.
        quote = app.market.spot["BTC"]
        assert quote.price is not None
        moved = replace(quote, price=quote.price * 1.01)
        before = str(pane.border_subtitle)
        app.market_update(replace(app.market, spot={**app.market.spot, "BTC": moved}))
        await pilot.pause(0.4)
        assert app.report is not None
        spot = app.report.totals.spot_value_usd
        assert str(pane.border_subtitle) != before
        assert str(pane.border_subtitle).endswith(f"spot {spot:,.0f} $")
        # One region, one line high, the pane's bottom border (relative to its content).
        assert len(regions) == 1 and len(regions[0]) == 1
        (region,) = regions[0]
        assert (region.height, region.width) == (1, pane.outer_size.width)
        assert region.y + pane.content_offset.y == pane.outer_size.height - 1
        await assert_painted_is_fresh(pilot)


# -- the user's moves -----------------------------------------------------------------


async def test_a_cursor_move_repaints_the_two_rows_it_crosses(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        rendered = spy_on_lines(app)
        await pilot.press("j")
        await pilot.pause()
        assert rendered["holdings"] == [1, 2]
        assert rendered["alpha"] == rendered["hedge"] == rendered["basis"] == []
        await assert_painted_is_fresh(pilot)
        clear(rendered)
        await pilot.press("l", "l")
        await pilot.pause()
        assert set(rendered["holdings"]) == {2}  # the cursor's row, once per key
        await assert_painted_is_fresh(pilot)


async def test_focus_moving_between_panes_repaints_both_cursor_rows(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await assert_painted_is_fresh(pilot)
        await pilot.press("tab")
        await assert_painted_is_fresh(pilot)


async def test_a_scrolled_table_repaints_the_right_lines(tmp_path):
    app = make_app(make_workspace(tmp_path, many_alpha_positions(80)))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        alpha: BookTable = app.main.table("alpha")
        await pilot.press("3", "G")
        await pilot.pause()
        assert alpha.scroll_offset.y > 0
        await assert_painted_is_fresh(pilot)
        # Up a row inside the scrolled view: the two rows at their lines on screen.
        rendered = spy_on_lines(app)
        await pilot.press("k")
        await pilot.pause()
        top = int(alpha.scroll_offset.y)
        assert rendered["alpha"] == sorted(
            [alpha.cursor_row - top + 1, alpha.cursor_row + 1 - top + 1]
        )
        await assert_painted_is_fresh(pilot)
        # A tick that moves the ETH perpetual: every other row on screen is an ETH one.
        clear(rendered)
        app.market_update(moved_mark(app.market, "ETH/USDT:USDT", 1.02))
        await pilot.pause(0.4)
        height = alpha.size.height
        eth_lines = [
            y
            for y in range(1, height)
            if app.draft.current.position(alpha.source.key(top + y - 1)).symbol == "ETH/USDT:USDT"
        ]
        assert sorted(rendered["alpha"]) == eth_lines
        await assert_painted_is_fresh(pilot)
        # Page up and back to the top.
        await pilot.press("pageup", "g")
        await assert_painted_is_fresh(pilot)


async def test_sort_shock_and_theme_repaint_what_they_change(tmp_path):
    app = make_app(make_workspace(tmp_path, many_alpha_positions(12)))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("3", "l", "l", "l", "l", "s")  # sort by the size column
        await assert_painted_is_fresh(pilot)
        await pilot.press("s")  # and back, descending
        await assert_painted_is_fresh(pilot)
        await pilot.press("right_curly_bracket", "right_curly_bracket")  # shock +10 %
        await pilot.pause()
        assert "under BTC +10 %" in str(app.main.panes["alpha"].border_title)
        await assert_painted_is_fresh(pilot)
        await pilot.press("0")
        await assert_painted_is_fresh(pilot)


async def test_a_new_theme_repaints_every_line_as_an_app_started_in_it(tmp_path):
    folder = make_workspace(tmp_path)
    app = make_app(folder)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        rendered = spy_on_lines(app)
        before = app.theme
        await pilot.press("t")
        await pilot.pause()
        assert app.theme != before
        for book in TABLES:
            table = app.main.table(book)
            assert sorted(set(rendered[book])) == list(range(table.size.height)), book
        painted = screen_rows(app)
        status = app.main.query_one("#status").region.y
    # An app started in that theme (it remembers the theme chosen) paints the same
    # screen, but for the status line that said "theme: …".
    again = make_app(folder)
    async with again.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        assert again.theme == app.theme
        assert_same_rows(painted, screen_rows(again), skip=frozenset({status}))


async def test_an_edit_and_its_undo_repaint_the_edited_row(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        hedge = app.main.table("hedge")
        size = [c.key for c in hedge.columns].index("size")
        await pilot.press("2", *["l"] * size, "enter", "0", ".", "4", "enter")
        await pilot.pause()
        assert app.draft.current.position("h-btc").size == 0.4
        await assert_painted_is_fresh(pilot)
        await pilot.press("u")
        await assert_painted_is_fresh(pilot)


async def test_resizing_and_the_narrow_layout_repaint_correctly(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await assert_painted_is_fresh(pilot)
        await pilot.press("4")  # the basis ticker unfolds, holdings fold
        await assert_painted_is_fresh(pilot)
        app.market_update(moved_mark(app.market, "BTC/USDT:USDT", 0.99))
        await pilot.pause(0.4)
        await assert_painted_is_fresh(pilot)
        await pilot.resize_terminal(160, 48)
        await assert_painted_is_fresh(pilot)


async def test_adding_moving_and_deleting_rows_repaint_the_tables_they_change(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("3", "a")
        editor = app.screen.query_one("#cell-editor")
        await assert_painted_is_fresh(pilot)  # the editor open over the table
        editor.value = "ETH/USDT:USDT short 2 2500 4"
        await pilot.press("enter")
        await assert_painted_is_fresh(pilot)
        added = app.main.table("alpha").current_key
        assert added is not None and added != "a-eth"
        await pilot.press("m")  # to the hedge overlay: one row less here, one more there
        await assert_painted_is_fresh(pilot)
        await pilot.press("2")
        app.main.table("hedge").move_to_key(added)
        await pilot.press("d")
        await assert_painted_is_fresh(pilot)
        assert all(p.id != added for p in app.draft.current.positions)
