"""Pilot tests of what a trader reads: the keymap and help, themes remembered, the
shocked view, the summary at a glance, notes, dialogs, a feed that fails."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from core.config import load_portfolio
from core.whatif import ADD_SYNTAX
from tests.tui_helpers import make_app, make_workspace
from tui.screens import ChoiceScreen, HelpScreen, TextScreen
from tui.widgets.book_table import BookTable
from tui.widgets.summary import SummaryBar


def status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


def with_keys(folder, table: str) -> None:
    config = folder / "config.toml"
    config.write_text(config.read_text() + f"\n[keys]\n{table}\n")


@pytest.fixture
def workspace(tmp_path):
    return make_workspace(tmp_path)


async def test_a_keymap_remaps_a_binding_by_id_and_help_shows_the_new_key(workspace):
    with_keys(workspace, '"shock.up-5" = "f5"\n"app.help" = "f1"')
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        assert app.shock_pct == 5
        await pilot.press("}")  # the old key no longer shocks
        assert app.shock_pct == 5
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        assert "f5" in text and "shock +5%" in text.lower()


async def test_an_unknown_binding_id_or_a_clash_is_a_message_and_the_app_starts(workspace):
    with_keys(workspace, '"shock.upp" = "f5"\n"edit.undo" = "t"')
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        message = status(app)
        assert "[keys] shock.upp: no such binding" in message
        assert "[keys] t is bound to both app.theme and edit.undo" in message
        assert app.report is not None  # the app is up and computing


async def test_help_is_made_from_the_bindings_and_fits_80_columns(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        text = app.screen.query_one("#help-text").render()
        plain = str(text)
        for binding in app.BINDINGS:
            assert (binding.tooltip or binding.description) in plain
        for needle in ("pgdn", "every figure of the row", "add a row"):
            assert needle in plain
        body = app.screen.query_one("#help-body")
        # Border and padding inside 80 columns: no line is wrapped.
        widest = max(len(line) for line in plain.splitlines())
        assert widest <= body.content_region.width <= 78
        assert body.region.x + body.region.width <= 80


async def test_dialogs_are_centred(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for key, screen_type, body_id in (
            ("w", TextScreen, "#text-page"),
            ("question_mark", HelpScreen, "#help-body"),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen_type)
            box = app.screen.query_one(body_id).region
            assert abs((box.x + box.width / 2) - 60) <= 1
            assert abs((box.y + box.height / 2) - 20) <= 1
            await pilot.press("escape")
        await pilot.press("c", *"1", "enter", "q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        box = app.screen.query_one("#choice-body").region
        assert abs((box.x + box.width / 2) - 60) <= 1


async def test_the_theme_chosen_with_t_is_remembered_between_runs(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("t")
        chosen = app.theme
        assert chosen != "symbiosis-dark"
    state = workspace / "state" / "state.toml"
    assert chosen in state.read_text()
    assert "theme" not in (workspace / "config.toml").read_text().split("[ui]")[-1].split("\n")[2:]
    again = make_app(workspace)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == chosen


async def test_a_malformed_theme_file_is_skipped_with_a_note_naming_it(workspace, monkeypatch):
    import tui.app
    from tui.themes import THEMES_DIR

    themes = workspace / "themes"
    themes.mkdir()
    for path in THEMES_DIR.glob("*.toml"):
        (themes / path.name).write_text(path.read_text())
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "#12"\n[oops\n')
    (themes / "odd.toml").write_text('name = "odd"\nprimary = "not a colour"\n')
    real = tui.app.load_themes
    monkeypatch.setattr(tui.app, "load_themes", lambda: real(themes))
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        message = status(app)
        assert "theme skipped: broken.toml" in message
        assert "theme skipped: odd.toml" in message
        assert "symbiosis-dark" in app.theme_names and "odd" not in app.theme_names


async def test_the_shocked_view_shows_the_scenario_in_the_panes_and_summary(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        alpha = app.screen.query_one("#alpha-table", BookTable)
        row = app.report.position("a-eth")
        await pilot.press("{", "{")  # BTC −10 %, ETH (beta 1.2) −12 %
        await pilot.pause()
        pane = app.screen.query_one("#pane-alpha")
        assert "under BTC −10 %" in str(pane.border_title)
        shown = alpha.source.row(0)
        # The mark and uPnL shown are the scenario's: 8 ETH long, mark −12 %.
        assert shown["mark_price"] == pytest.approx(row.mark_price * 0.88)
        expected_upnl = (row.mark_price * 0.88 - row.entry_price) * 8
        assert shown["unrealized_pnl_usd"] == pytest.approx(expected_upnl)
        summary = app.screen.query_one(SummaryBar).text
        assert f"→ equity {app.report.scenario.equity:,.0f}" in summary
        await pilot.press("0")
        await pilot.pause()
        assert "under" not in str(pane.border_title)
        assert alpha.source.row(0)["mark_price"] == pytest.approx(row.mark_price)


async def test_at_120_columns_the_summary_is_three_lines_with_the_nearest_liquidation(
    workspace,
):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("]", "c", *"31000", "enter")  # a shock and a draft change too
        await pilot.pause()
        text = app.screen.query_one(SummaryBar).text
        lines = text.splitlines()
        assert len(lines) == 3
        near = min(
            (p for p in app.report.positions if p.distance_to_liquidation_pct is not None),
            key=lambda p: p.distance_to_liquidation_pct,
        )
        assert f"Liq. {near.id} {near.distance_to_liquidation_pct:.1f}%" in lines[1]
        assert "hedge 50.0% of core" in lines[1]
        assert "Shock +1%" in lines[2] and "draft: 1 change" in lines[2]
        await pilot.press("0", "u")
        await pilot.pause()
        assert "$/8h" in app.screen.query_one(SummaryBar).text.splitlines()[0]


async def test_the_hedge_and_alpha_risk_columns_are_on_screen_at_120_and_200(tmp_path):
    wanted = ["id", "symbol", "side", "size", "notional", "upnl", "liq", "dist"]
    for size in ((120, 40), (200, 50), (80, 24)):
        folder = tmp_path / f"{size[0]}"
        folder.mkdir()
        app = make_app(make_workspace(folder))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for book in ("hedge", "alpha"):
                await pilot.press("2" if book == "hedge" else "3")
                await pilot.pause()
                table = app.screen.query_one(f"#{book}-table", BookTable)
                keys = [c.key for c in table.columns]
                assert [k for k in keys if k in wanted] == wanted
                # Nothing to scroll sideways: every column shown fits the pane.
                assert table.content_width <= table.size.width
            if size[0] >= 200:
                alpha = app.screen.query_one("#alpha-table", BookTable)
                assert {"entry", "kind", "carry"} <= {c.key for c in alpha.columns}


async def test_the_add_prompt_shows_its_full_syntax(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("2", "a")
        await pilot.pause()
        assert ADD_SYNTAX in status(app)  # brackets shown, not taken for markup


async def test_s_in_holdings_sorts_or_says_why_not(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("1", "a", *"SOL 1", "enter")
        await pilot.pause()
        table = app.screen.query_one("#holdings-table", BookTable)
        table.cursor_col = [c.key for c in table.columns].index("value")
        await pilot.press("s")
        values = [table.source.row(i)["holding"].value_usd for i in range(len(table.source))]
        assert values == sorted(values, reverse=True)
        assert "sorted by Value $" in status(app)
        table.cursor_col = [c.key for c in table.columns].index("hedged")
        await pilot.press("s")
        assert "not sorted: Hedged cannot be sorted" in status(app)
        await pilot.press("4", "s")
        assert "not sorted: the basis ticker keeps the exchange's order" in status(app)


async def test_a_note_is_editable_shown_in_details_and_saved_even_with_markup(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        table = app.screen.query_one("#hedge-table", BookTable)
        table.cursor_col = [c.key for c in table.columns].index("note")
        await pilot.press("enter")
        app.screen.query_one("#cell-editor").value = "roll [before] expiry [/b] $x"
        await pilot.press("enter")
        await pilot.pause()
        assert app.draft.current.position("h-btc").note == "roll [before] expiry [/b] $x"
        await pilot.press("i")
        await pilot.pause()
        assert "roll [before] expiry [/b] $x" in str(app.screen.query_one("#text-body").render())
        await pilot.press("escape", "ctrl+s")
        await pilot.pause()
    saved = load_portfolio(workspace / "portfolio.toml").portfolio
    assert saved.position("h-btc").note == "roll [before] expiry [/b] $x"


async def test_a_note_with_newlines_and_brackets_from_the_file_does_not_crash(tmp_path):
    text = (make_workspace(tmp_path) / "portfolio.toml").read_text()
    text = text.replace(
        'id = "a-eth"', 'id = "a-eth"\nnote = "line one\\n[red]line two[/red] [b"'
    ).replace('asset = "BTC"', 'asset = "BTC"\nnote = "cold [wallet]\\nsecond"')
    app = make_app(make_workspace(tmp_path, text))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        alpha = app.screen.query_one("#alpha-table", BookTable)
        note = next(c for c in alpha.columns if c.key == "note").cell(alpha.source.row(0))
        assert note.text == "line one [red]line two[/red] [b"
        await pilot.press("3", "i")
        await pilot.pause()
        assert "[red]line two[/red] [b" in str(app.screen.query_one("#text-body").render())
        await pilot.press("escape", "1", "i")
        await pilot.pause()
        details = str(app.screen.query_one("#text-body").render())
        assert "BTC" in details and "cold [wallet]" in details and "second" in details
        assert "hedge ratio" in details


async def test_a_feed_that_fails_is_a_one_line_message_and_the_app_stays_up(workspace):
    async def broken_feed(publish, say):
        raise AttributeError("module 'ccxt.async_support' has no attribute 'binanse'")

    app = make_app(workspace)
    app.feed = broken_feed
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        message = status(app)
        assert message.startswith("feed stopped: module 'ccxt.async_support' has no attribute")
        assert "\n" not in message and "Traceback" not in message
        assert app.market.status == "offline"
        assert "OFFLINE" in app.screen.query_one(SummaryBar).text
        await pilot.press("]")
        assert app.report.scenario.shock_pct == 1  # still up and computing


async def test_a_book_on_two_venues_shows_each_venues_margin_and_a_venue_column(tmp_path):
    from tests.tui_helpers import ROOT

    book = (ROOT / "portfolio.toml").read_text(encoding="utf-8")
    book = book.replace(
        "[[holdings]]", "[accounts.bybit]\ncollateral_usd = 5000.0\n\n[[holdings]]", 1
    )
    config = make_workspace(tmp_path, book)
    text = (config / "config.toml").read_text(encoding="utf-8")
    (config / "config.toml").write_text(
        text.replace('exchange = "binance"', 'exchanges = ["binance", "bybit"]'), encoding="utf-8"
    )
    app = make_app(config)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        shown = app.screen.query_one(SummaryBar).text
        assert "binance" in shown and "bybit" in shown
        hedge = app.screen.query_one("#hedge-table")
        assert "venue" in [c.key for c in hedge.columns]
