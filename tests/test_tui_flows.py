"""Pilot tests: every what-if flow driven with the keyboard on the real app and files."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from core.config import load_portfolio
from core.feeds.replay_file import load_replay_end
from core.feeds.state import with_status
from tests.tui_helpers import make_app, make_workspace
from tui.app import COALESCE_S
from tui.screens import ChoiceScreen, HelpScreen
from tui.widgets.book_table import BookTable
from tui.widgets.summary import SummaryBar

SIZE_COLUMN = 3  # Id, Symbol, Side, Size in the hedge overlay


async def edit_hedge_size(pilot, text: str) -> None:
    await pilot.press("2")
    table = pilot.app.screen.query_one("#hedge-table", BookTable)
    table.cursor_col = SIZE_COLUMN
    await pilot.press("enter")
    await pilot.press(*list(text), "enter")
    await pilot.pause()


@pytest.fixture
def workspace(tmp_path):
    return make_workspace(tmp_path)


async def test_editing_hedge_size_moves_net_exposure_by_size_change_times_mark(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        before = app.report.totals.net_exposure_usd
        mark = app.report.position("h-btc").mark_price
        await edit_hedge_size(pilot, "0.25")
        assert app.draft.current.position("h-btc").size == 0.25
        # A short of 0.5 cut to 0.25 adds 0.25 x mark of long exposure.
        assert app.report.totals.net_exposure_usd == pytest.approx(before + 0.25 * mark)
        assert app.report.asset("BTC").hedge_ratio == pytest.approx(0.5, rel=1e-3)


async def test_relative_edit_hedges_twenty_percent_more(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await edit_hedge_size(pilot, "+20%")
        assert app.draft.current.position("h-btc").size == pytest.approx(0.6)


async def test_invalid_edit_keeps_old_value_and_says_why(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        net = app.report.totals.net_exposure_usd
        await edit_hedge_size(pilot, "abc")
        assert app.draft.current.position("h-btc").size == 0.5
        assert app.report.totals.net_exposure_usd == net
        message = str(app.screen.query_one("#status").render())
        assert "'abc' is not a number" in message
        assert "old value kept" in message
        assert app.main.edit is not None  # editor stays open to fix the value
        await pilot.press("escape")
        assert app.main.edit is None
        await edit_hedge_size(pilot, "-1")
        assert app.draft.current.position("h-btc").size == 0.5
        assert "must be > 0" in str(app.screen.query_one("#status").render())


async def test_undo_and_redo_walk_the_draft_history(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await edit_hedge_size(pilot, "0.3")
        await pilot.press("escape")
        await edit_hedge_size(pilot, "0.4")
        assert app.draft.current.position("h-btc").size == 0.4
        await pilot.press("u")
        assert app.draft.current.position("h-btc").size == 0.3
        await pilot.press("u")
        assert app.draft.current.position("h-btc").size == 0.5
        await pilot.press("ctrl+r")
        assert app.draft.current.position("h-btc").size == 0.3
        # Two changes: the hedge, and the cross wallet that the closed part's uPnL went to.
        assert app.draft.edited_keys()[1] == 2
        assert app.draft.current.collateral_usd != app.draft.saved.collateral_usd


async def test_save_then_reload_round_trips_the_draft(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await edit_hedge_size(pilot, "0.35")
        await pilot.press("ctrl+s")
        await pilot.pause()
        reloaded = load_portfolio(workspace / "portfolio.toml").portfolio
        assert reloaded == app.draft.current
        assert reloaded.position("h-btc").size == 0.35
        assert (workspace / "portfolio.toml.bak").exists()
        assert app.draft.edited_keys()[1] == 0


async def test_save_conflict_is_shown_and_never_overwrites(workspace):
    app = make_app(workspace)
    path = workspace / "portfolio.toml"
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await edit_hedge_size(pilot, "0.1")
        changed_elsewhere = path.read_text() + "\n# edited in another window\n"
        path.write_text(changed_elsewhere)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert path.read_text() == changed_elsewhere
        await pilot.press("escape")
        await pilot.pause()
        assert path.read_text() == changed_elsewhere
        assert app.draft.current.position("h-btc").size == 0.1


async def test_shock_keys_step_the_market_and_highlight_liquidations(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("]", "]", "}")
        assert app.report.scenario.shock_pct == 7
        await pilot.press("[")
        assert app.report.scenario.shock_pct == 6
        await pilot.press("0")
        assert app.report.scenario.shock_pct == 0
        assert app.report.scenario.liquidated == ()
        # ETH (beta 1.2) at -50 % BTC falls 60 %: the 2x ETH long (liq. near -50 %) goes.
        await pilot.press(*["{"] * 10)
        assert app.report.scenario.shock_pct == -50
        assert "a-eth" in app.report.scenario.liquidated
        alpha = app.screen.query_one("#alpha-table", BookTable)
        assert alpha.source.row_tone(0) == "alert"
        summary = app.screen.query_one(SummaryBar).text
        assert "liq." in summary


async def test_a_shock_step_updates_only_the_summary_line_that_shows_it(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(SummaryBar)
        lines = list(bar.query(Static))
        before = [line.visual for line in lines]
        await pilot.press("]")
        await pilot.pause()
        after = [line.visual for line in lines]
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a is not b]
        assert len(changed) == 1
        assert "Shock" in str(after[changed[0]]) and "+1%" in str(after[changed[0]])
        assert "Shock +1%" in bar.text


async def test_theme_key_cycles_the_bundled_themes(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.theme == "symbiosis-dark"
        seen = {app.theme}
        for _ in range(len(app.theme_names)):
            await pilot.press("t")
            seen.add(app.theme)
        assert app.theme == "symbiosis-dark"  # round the whole cycle
        bundled = {"symbiosis-dark", "symbiosis-light", "symbiosis-colorblind", "symbiosis-256"}
        # Textual's ANSI themes (the terminal's own 16 colours) are offered too.
        assert bundled | {"ansi-dark", "ansi-light"} <= seen


async def test_quit_with_unsaved_edits_asks_first(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await edit_hedge_size(pilot, "0.2")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen)
        assert app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
    assert app.return_value == 0
    assert load_portfolio(workspace / "portfolio.toml").portfolio.position("h-btc").size == 0.5


async def test_quit_and_save_writes_the_draft(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await edit_hedge_size(pilot, "0.45")
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
    assert load_portfolio(workspace / "portfolio.toml").portfolio.position("h-btc").size == 0.45


async def test_side_and_margin_mode_toggle_with_enter(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        table = app.screen.query_one("#hedge-table", BookTable)
        table.cursor_col = 2  # Side
        await pilot.press("enter")
        assert app.draft.current.position("h-btc").side == "long"
        # Long spot plus long future: BTC net doubles.
        assert app.report.asset("BTC").hedge_ratio == pytest.approx(-1.0, rel=1e-3)
        table.cursor_col = [c.key for c in table.columns].index("mode")
        await pilot.press("enter")
        assert app.draft.current.position("h-btc").margin_mode == "isolated"


async def test_add_move_and_delete_positions_with_keys(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("3", "a")
        editor = app.screen.query_one("#cell-editor")
        assert editor.value.startswith("ETH/USDT:USDT long")
        editor.value = "ETH/USDT:USDT short 2 2500 4"
        await pilot.press("enter")
        await pilot.pause()
        added = [p for p in app.draft.current.book("alpha") if p.id != "a-eth"]
        assert len(added) == 1 and added[0].side == "short" and added[0].leverage == 4
        new_id = added[0].id
        alpha = app.screen.query_one("#alpha-table", BookTable)
        assert alpha.current_key == new_id
        await pilot.press("m")
        assert app.draft.current.position(new_id).book == "hedge"
        await pilot.press("2")
        hedge = app.screen.query_one("#hedge-table", BookTable)
        hedge.move_to_key(new_id)
        await pilot.press("d")
        assert all(p.id != new_id for p in app.draft.current.positions)
        await pilot.press("u")
        assert app.draft.current.position(new_id).book == "hedge"


async def test_add_holding_and_edit_collateral(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        equity = app.report.totals.equity
        await pilot.press("1", "a")
        await pilot.press(*list("USDC 5000"), "enter")
        await pilot.pause()
        assert app.report.totals.equity == pytest.approx(equity + 5000)
        await pilot.press("c")
        await pilot.press(*list("35000"), "enter")
        await pilot.pause()
        assert app.draft.current.collateral_usd == 35000
        assert app.report.totals.equity == pytest.approx(equity + 10000)


async def test_help_lists_keys_and_number_keys_focus_panes(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        for key, table_id in (("4", "basis-table"), ("3", "alpha-table"), ("1", "holdings-table")):
            await pilot.press(key)
            assert app.focused.id == table_id
        # Tab walks the panes in screen order: Holdings, then the basis ticker beside it.
        await pilot.press("tab")
        assert app.focused.id == "basis-table"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        for needle in ("ctrl+s", "undo", "shock", "theme", "delete"):
            assert needle in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_feed_ticks_are_coalesced_into_one_recompute(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        count = app.recompute_count
        market = app.market
        for _ in range(50):
            app.market_update(market)
        await pilot.pause(COALESCE_S + 0.15)
        # One recompute for the draft burst (the saved book is computed alongside).
        assert app.recompute_count == count + 1


async def test_theme_from_config_is_applied_at_start(tmp_path):
    folder = make_workspace(tmp_path)
    config = folder / "config.toml"
    config.write_text(config.read_text().replace('"symbiosis-dark"', '"symbiosis-colorblind"', 1))
    app = make_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "symbiosis-colorblind"


async def test_stale_feed_is_shown_in_the_summary_and_prices_are_marked(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.market_update(with_status(app.market, "stale"))
        await pilot.pause(COALESCE_S + 0.15)
        assert "STALE" in app.screen.query_one(SummaryBar).text
        basis = app.screen.query_one("#basis-table", BookTable)
        assert all(basis.source.row_tone(i) == "stale" for i in range(len(basis.source)))


async def test_replay_feed_drives_the_app_to_the_recording_end(workspace):
    from tui.feed_runner import first_replay_state, replay_runner

    replay = workspace / "data" / "demo.jsonl"
    app = make_app(workspace)
    app.market = first_replay_state(replay)
    app.feed = replay_runner(replay, speed=None)  # no waiting between events
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause(COALESCE_S + 0.15)
        end = load_replay_end(replay)
        assert app.market.clock_ms == end.clock_ms
        assert app.report.position("h-btc").mark_price == end.mark("BTC/USDT:USDT")


async def test_notes_explain_assumptions_and_details_show_every_position_figure(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        # DOGE has no price in the demo and no beta in config.toml.
        await pilot.press("1", "a", *list("DOGE 1000"), "enter")
        await pilot.pause()
        assert "note" in app.screen.query_one(SummaryBar).text
        await pilot.press("w")
        await pilot.pause()
        notes = str(app.screen.query_one("#text-body").render())
        assert "no spot price for DOGE" in notes
        assert "made-up demo data" in notes
        await pilot.press("escape", "2", "i")
        await pilot.pause()
        details = str(app.screen.query_one("#text-body").render())
        row = app.report.position("h-btc")
        assert "h-btc" in details and "liquidation price" in details
        assert f"{row.liquidation_price:,.1f}" in details


async def test_sort_key_orders_positions_by_the_cursor_column_and_flips(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        for text in ("ETH/USDT:USDT long 2 2500 10", "BTC/USDT:USDT long 0.1 60000 20"):
            await pilot.press("a")
            app.screen.query_one("#cell-editor").value = text
            await pilot.press("enter")
            await pilot.pause()
        alpha = app.screen.query_one("#alpha-table", BookTable)
        alpha.cursor_col = [c.key for c in alpha.columns].index("dist")
        await pilot.press("s")
        keys = [alpha.source.key(i) for i in range(len(alpha.source))]
        dists = [app.report.position(k).distance_to_liquidation_pct for k in keys]
        assert dists == sorted(dists)  # closest to liquidation first
        assert len(keys) == 3
        await pilot.press("s")
        keys = [alpha.source.key(i) for i in range(len(alpha.source))]
        assert [app.report.position(k).distance_to_liquidation_pct for k in keys] == sorted(
            dists, reverse=True
        )


async def test_a_keystroke_postpones_a_waiting_tick_but_not_forever(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        moved = with_status(app.market, "stale")
        app.market_update(moved)
        await pilot.press("]")
        assert app.market is not moved  # the key's frame went first
        await pilot.pause(COALESCE_S + 0.15)
        assert app.market is moved
        # Keys arriving faster than the coalescing window do not hold a tick back
        # for longer than the bound.
        again = with_status(moved, "live")
        app.market_update(again)
        for _ in range(12):
            await pilot.press("]")
            await pilot.pause(COALESCE_S / 2)
        assert app.market is again
