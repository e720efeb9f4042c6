"""Pilot tests of the risk tools in the real app: each key, each screen, alerts."""

from __future__ import annotations

import re
from dataclasses import replace

import polars as pl
import pytest
from rich.style import Style
from textual.widgets import DataTable, Input

from core.engine import compute
from core.model import frozen_map
from tests.tui_helpers import make_app, make_workspace
from tui.app import COALESCE_S
from tui.widgets.alert_log import AlertLogScreen
from tui.widgets.carry_screen import CarryScreen
from tui.widgets.export_screen import ExportScreen
from tui.widgets.hedge_screen import HedgeScreen
from tui.widgets.history_screen import HistoryScreen
from tui.widgets.signed_chart import SignedChart, signed_rows
from tui.widgets.stress_screen import StressScreen

ETH_PERP = "ETH/USDT:USDT"


@pytest.fixture
def workspace(tmp_path):
    return make_workspace(tmp_path)


def with_alerts(folder, line: str):
    """The workspace's config with one [alerts] key set to another value."""
    config = folder / "config.toml"
    key = line.split("=")[0].strip()
    text = re.sub(rf"(?m)^{key} = [^ ]+", line, config.read_text(encoding="utf-8"), count=1)
    assert line in text
    config.write_text(text, encoding="utf-8")
    return folder


async def settle(pilot) -> None:
    """Let workers (the stress grid's thread) finish and their results paint."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def retype(pilot, selector: str, text: str) -> None:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = ""
    await pilot.press(*list(text), "enter")
    await settle(pilot)


async def test_x_opens_the_stress_grid_whose_steps_are_the_scenarios(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("x")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StressScreen)
        assert screen.query_one(DataTable).row_count == 21
        for step in screen.grid.steps:
            scenario = compute(app.draft.current, app.market, step.shock_pct, app.settings).scenario
            assert (step.pnl_usd, step.equity, step.margin_ratio, step.liquidated) == (
                scenario.pnl_usd,
                scenario.equity,
                scenario.margin_ratio,
                tuple(scenario.liquidated),
            )
        assert screen.query_one(SignedChart).values == [s.pnl_usd for s in screen.grid.steps]
        await retype(pilot, "#stress-range", "-10:10:10")
        assert [s.shock_pct for s in screen.grid.steps] == [-10.0, 0.0, 10.0]
        assert screen.query_one(DataTable).row_count == 3
        await retype(pilot, "#stress-range", "10:1:1")
        assert [s.shock_pct for s in screen.grid.steps] == [-10.0, 0.0, 10.0]  # kept
        assert "below FROM" in str(screen.query_one("#stress-hint").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, StressScreen)


async def test_closing_the_stress_grid_while_it_computes_is_harmless(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("x", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, StressScreen)
        await pilot.press("x")
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 21


async def test_shift_h_suggests_a_hedge_and_a_applies_it_to_the_draft(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("H")
        await pilot.pause()
        assert isinstance(app.screen, HedgeScreen)
        await retype(pilot, "#hedge-target", "BTC=0.8")
        suggestion = app.screen.suggestion
        assert suggestion is not None and suggestion.position_id == "h-btc"
        assert "h-btc" in str(app.screen.query_one("#hedge-result").render())
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, HedgeScreen)
        assert app.draft.current.position("h-btc").size == pytest.approx(suggestion.new_size)
        assert app.report.asset("BTC").hedge_ratio == pytest.approx(0.8, abs=1e-9)
        await pilot.press("u")  # one undo step, like a typed edit
        await pilot.pause()
        assert app.draft.current.position("h-btc").size == 0.5


async def test_a_refused_suggestion_keeps_the_draft_and_says_why(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("H")
        await pilot.pause()
        # ETH has no hedge: a 1x isolated short of 12 ETH x 2,500 needs more than the
        # 30,000 cross wallet holds after the cross hedge's margin.
        await retype(pilot, "#hedge-target", "ETH=1.0")
        assert app.screen.suggestion.note.startswith("applying it would be refused")
        before = app.draft.current
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, HedgeScreen)  # still open, nothing applied
        assert app.draft.current is before
        assert any("draft kept" in n.message for n in app._notifications)


async def test_a_bad_hedge_target_says_why_and_applies_nothing(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("H")
        await pilot.pause()
        await retype(pilot, "#hedge-target", "SOL=0.5")
        assert app.screen.suggestion is None
        assert "no core holding" in str(app.screen.query_one("#hedge-result").render())
        await pilot.press("escape")
        assert app.draft.current.position("h-btc").size == 0.5


async def test_b_opens_the_carry_board_with_the_best_carry_marked(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CarryScreen)
        assert [r.asset for r in screen.rows] == ["BTC", "ETH"]
        table = screen.query_one(DataTable)
        assert table.row_count == 3  # BTC perp and Dec future, ETH perp
        flags = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert flags.count("★ best") == 2


async def test_an_alert_fires_once_per_crossing_with_a_bell_and_a_log(workspace):
    app = make_app(with_alerts(workspace, "funding_apr_pct = 12"))
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        # The demo's ETH perpetual pays 13.75 % APR: beyond 12 %.
        assert [(e.alert.kind, e.alert.target) for e in app.risk.log] == [("funding_apr", ETH_PERP)]
        assert rings == [1]
        assert any("funding APR" in n.message for n in app._notifications)
        # A later tick still beyond the threshold: nothing new.
        later = replace(app.market, clock_ms=app.market.clock_ms + 1000)
        app.market = later
        app.recompute(market_changed=True)
        await pilot.pause()
        assert len(app.risk.log) == 1 and rings == [1]
        # Back under 12 % (0.0001 x 3 x 365 = 10.95 %): cleared; over again: a new alert.
        quote = app.market.contracts[ETH_PERP]
        for rate, clock in ((0.0001, 2000), (0.0002, 3000)):
            contracts = {**app.market.contracts, ETH_PERP: replace(quote, funding_rate=rate)}
            app.market = replace(
                app.market, contracts=frozen_map(contracts), clock_ms=later.clock_ms + clock
            )
            app.recompute(market_changed=True)
            await pilot.pause()
        assert len(app.risk.log) == 2 and rings == [1, 1]
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, AlertLogScreen)
        assert app.screen.query_one(DataTable).row_count == 2


async def test_a_shock_does_not_raise_alerts_of_its_own(workspace):
    app = make_app(with_alerts(workspace, "liquidation_distance_pct = 40"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        logged = len(app.risk.log)
        assert logged == 0  # a-eth is about 50 % from liquidation now
        await pilot.press(*["{"] * 9)  # -45 %: a-eth liquidated in the scenario
        await pilot.pause()
        assert app.report.scenario.liquidated
        assert len(app.risk.log) == logged


async def test_v_shows_signed_history_filled_by_the_feed(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        market = app.market
        quote = market.contracts[ETH_PERP]
        spot = market.spot_price("ETH")
        # Three feed states whose ETH perpetual trades below spot: a negative basis.
        for step in range(1, 4):
            moved = replace(quote, mark=spot * (1 - step / 1000), ts_ms=quote.ts_ms + step)
            contracts = frozen_map({**market.contracts, ETH_PERP: moved})
            app.market_update(replace(market, contracts=contracts, clock_ms=quote.ts_ms + step))
        await pilot.pause(COALESCE_S + 0.2)  # the burst is applied as one tick
        assert app.risk.history.basis_pct(ETH_PERP)[-3:] == pytest.approx([-0.1, -0.2, -0.3])
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        lines = str(app.screen.query_one("#history-text").render()).splitlines()
        labels = [line.split(" · ")[0] for line in lines if " · now " in line]
        # BTC perp basis and funding, BTC Dec basis, ETH perp basis and funding.
        assert labels == [
            "BTC/USDT:USDT basis",
            "BTC/USDT:USDT funding rate",
            "BTC/USDT:USDT-261225 basis",
            f"{ETH_PERP} basis",
            f"{ETH_PERP} funding rate",
        ]
        eth = lines.index(next(line for line in lines if line.startswith(f"{ETH_PERP} basis")))
        above, below = lines[eth + 1], lines[eth + 2]
        # The first point (+0.025 %) rises above the line; the last three hang below it.
        assert above[0] != " " and above[1:4] == "   "
        assert below[0] == " " and " " not in below[1:4]


async def test_e_exports_the_report_to_the_typed_file(workspace):
    app = make_app(workspace)
    target = workspace / "book.csv"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await retype(pilot, "#export-path", str(target))
        assert not isinstance(app.screen, ExportScreen)
    assert pl.read_csv(target)["id"].to_list() == ["h-btc", "a-eth"]


async def test_an_unknown_export_extension_keeps_the_dialog_open(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        await retype(pilot, "#export-path", str(workspace / "book.xlsx"))
        assert isinstance(app.screen, ExportScreen)
        assert any("unknown export format" in n.message for n in app._notifications)
    assert not (workspace / "book.xlsx").exists()


async def test_the_palette_lists_every_risk_tool(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for name in (
            "Stress grid",
            "Hedge suggestion",
            "Carry board",
            "Alert log",
            "History",
            "Export report…",
        ):
            assert name in titles


def test_signed_rows_draw_a_negative_value_below_the_zero_line():
    up, down = Style(color="green"), Style(color="red")
    top, bottom = signed_rows([1.0, -1.0, -0.5, 0.0], 1, 2, up, down)
    assert top.plain == "█   "
    # -0.5 fills the upper half of the lower cell: a lower block of 4/8, reversed.
    assert bottom.plain == " █▄ "
    assert bottom.spans[-1].style.reverse
    # A rate that crosses zero never reads as positive.
    top, bottom = signed_rows([0.0001, -0.0001], 1, 2, up, down)
    assert (top.plain, bottom.plain) == ("█ ", " █")


async def test_v_shows_ledger_funding_beside_price_pnl(workspace, tmp_path, monkeypatch):
    from core.importer.accounts import FundingPayment
    from core.ledger import append_funding, ledger_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    append_funding(
        ledger_path(),
        [FundingPayment("binance", "1", "BTC/USDT:USDT", "USDT", 1, 3.5)],
    )
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        text = str(app.screen.query_one("#history-ledger").render())
        upnl = app.report.position("h-btc").unrealized_pnl_usd
        line = next(x for x in text.splitlines() if "h-btc" in x)
        assert "funding +3.50" in line and "(1 payments)" in line
        assert f"price {upnl:+,.2f}".replace("-", "−") in line or f"price {upnl:+,.2f}" in line


async def test_net_beta_outside_its_band_is_an_alert_in_the_app(workspace):
    config = workspace / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert "# net_beta_band = [0.0, 0.8]" in text
    config.write_text(
        text.replace("# net_beta_band = [0.0, 0.8]", "net_beta_band = [0.0, 0.5]"), encoding="utf-8"
    )
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        # The demo: beta-weighted +60,000 over equity 100,000 = +0.60, above 0.5.
        (entry,) = [e for e in app.risk.log if e.alert.kind == "net_beta"]
        assert entry.alert.target == "book"
        assert entry.alert.value == pytest.approx(0.6, abs=0.01)
        assert entry.alert.threshold == 0.5
