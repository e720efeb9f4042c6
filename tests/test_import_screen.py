"""The in-app import on the real app and files: palette, worker, diff, write or cancel."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from textual.widgets import Static

from core.config import load_portfolio
from tests.test_import_venues import offline_exchange, read_only_keys  # noqa: F401
from tests.test_tui_flows import edit_hedge_size
from tests.tui_helpers import make_app, make_workspace
from tui import import_cli
from tui.import_screen import ImportScreen


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(import_cli, "exchange_factory", lambda venue: offline_exchange(venue)[0])
    return make_workspace(tmp_path)


async def open_import(pilot) -> ImportScreen:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*list("Import from exchanges"))
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ImportScreen)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


def screen_text(screen: ImportScreen) -> str:
    return str(screen.query_one("#import-text", Static).render())


async def test_the_palette_import_shows_the_diff_and_y_writes_it(workspace):
    app = make_app(workspace)
    path = workspace / "portfolio.toml"
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = await open_import(pilot)
        text = screen_text(screen)
        assert "~ [account] (binance) collateral_usd 30,000 -> 31.022612" in text
        assert "+ [[holdings]] LTC qty 0.919741 (binance)" in text
        assert "+ [[alpha]] a-btc BTC/USDT:USDT long 0.009 @ 67,445.9 20x cross" in text
        # The demo's ETH holding is a manual row: kept, the exchange's ETH only noted.
        assert "0.02229833 ETH not imported" in text
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, ImportScreen)
        written = load_portfolio(path).portfolio
        assert app.draft.current == written
        assert written.position("a-btc").venue == "binance"
        assert written.position("h-btc").size == 0.5  # the manual hedge is untouched
        assert [h.asset for h in written.holdings] == ["BTC", "ETH", "LTC"]
        assert (workspace / "portfolio.toml.bak").exists()
        ledger = pl.read_parquet(workspace / "xdg" / "symbiosis" / "funding_ledger.parquet")
        assert ledger["id"].to_list() == ["8082457372019390060"]


async def test_escape_closes_the_import_without_writing(workspace):
    app = make_app(workspace)
    path = workspace / "portfolio.toml"
    before = path.read_bytes()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await open_import(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ImportScreen)
    assert path.read_bytes() == before
    assert not (workspace / "xdg").exists()


async def test_the_import_waits_for_unsaved_edits_to_be_saved(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await edit_hedge_size(pilot, "0.25")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*list("Import from exchanges"))
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ImportScreen)
        status = str(app.screen.query_one("#status", Static).render())
        assert "save or reload the draft before importing" in status


async def test_a_refused_key_is_shown_in_the_screen_and_nothing_is_written(workspace, monkeypatch):
    def refusing(venue: str) -> Any:
        exchange, http = offline_exchange(venue)
        http.errors["/api/v3/account"] = (
            401,
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        )
        return exchange

    monkeypatch.setattr(import_cli, "exchange_factory", refusing)
    app = make_app(workspace)
    path = workspace / "portfolio.toml"
    before = path.read_bytes()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = await open_import(pilot)
        text = screen_text(screen)
        assert "Import failed" in text and "binance: the API key was refused" in text
        assert "MARKER" not in text
        await pilot.press("y")  # nothing to write: y does nothing
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
    assert path.read_bytes() == before
