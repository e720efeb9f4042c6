"""Alerts: thresholds of [alerts] at current prices, one per target and family, danger
over warn; hysteresis in the tracker; [alerts] / [fees] read from a real config file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from core.config import ConfigError
from core.engine import compute
from core.model import Holding, Portfolio, Position, Settings
from core.risk.alerts import Alert, AlertTracker, current_alerts, net_beta_alert
from core.risk.settings import AlertThresholds, load_risk_settings
from tests.conftest import CLOCK_MS, make_market
from tui.cli import main

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "data" / "demo.jsonl"
PERP = "BTC/USDT:USDT"
DATED = "BTC/USDT:USDT-261225"
DAY_MS = 86_400_000


def isolated_long(margin: float) -> Portfolio:
    """1 BTC long at 50,000 on an isolated wallet of `margin` (default rate 0.5 %)."""
    return Portfolio(
        collateral_usd=10_000.0,
        holdings=(Holding("BTC", 1.0),),
        positions=(
            Position("a-btc", "alpha", PERP, "long", 1.0, 50_000.0, 10.0, "isolated", margin),
        ),
    )


def market(mark: float = 50_000.0, **kw):
    return make_market({"BTC": 50_000.0}, {PERP: mark}, **kw)


NO_EXTRAS = AlertThresholds()


def alerts_of(portfolio, mkt, thresholds=NO_EXTRAS, previous=None):
    report = compute(portfolio, mkt, 0.0, Settings())
    return current_alerts(report, portfolio, mkt, thresholds, previous)


def test_margin_warn_then_danger_for_an_isolated_position_one_alert_each_time():
    # MM = 50,000 x 0.5 % = 250. Wallet 400 at mark 50,000: 250 / 400 = 62.5 %: warn.
    warn = alerts_of(isolated_long(400.0), market())
    assert [(a.kind, a.target) for a in warn] == [("margin_ratio_warn", "a-btc")]
    assert warn[0].value == pytest.approx(0.625)
    # Mark 49,900: uPnL -100, balance 300, MM 249.5: 83.2 % >= 80 %: danger, and only danger.
    danger = alerts_of(isolated_long(400.0), market(49_900.0))
    assert [(a.kind, a.target) for a in danger] == [("margin_ratio_danger", "a-btc")]
    assert danger[0].value == pytest.approx(249.5 / 300.0)


def test_a_margin_balance_at_or_below_zero_is_danger_with_no_ratio():
    alerts = alerts_of(isolated_long(400.0), market(49_500.0))  # 400 - 500 < 0
    assert [(a.kind, a.value) for a in alerts] == [("margin_ratio_danger", None)]


def test_a_cross_account_is_targeted_as_account():
    portfolio = Portfolio(
        collateral_usd=300.0,
        holdings=(Holding("BTC", 1.0),),
        positions=(Position("h-btc", "hedge", PERP, "short", 1.0, 50_000.0, 10.0, "cross"),),
    )
    # 250 / 300 = 83 %: danger on the account.
    assert [(a.kind, a.target) for a in alerts_of(portfolio, market())] == [
        ("margin_ratio_danger", "account")
    ]


def test_alerts_use_current_prices_never_the_shock():
    # Wallet 5,000, MM 0.5 %: ratio 250 / 5,000 = 5 %; the liquidation price solves
    # 5,000 + (P - 50,000) = 0.005 P: P = 45,000 / 0.995 = 45,226.13, 9.55 % away.
    # No alert at current prices (distance alert under 5 %), whatever the shock:
    # at BTC -9.4 % the shocked position would be at 75.5 %, yet nothing is raised.
    portfolio = isolated_long(5_000.0)
    thresholds = AlertThresholds(liquidation_distance_pct=5.0)
    for shock in (-9.4, -20.0, 15.0):
        shocked = compute(portfolio, market(), shock, Settings())
        assert current_alerts(shocked, portfolio, market(), thresholds) == ()
    # Wallet 400: 250 / 400 = 62.5 % (warn), P = 49,600 / 0.995 = 49,849.25, 0.30 %
    # away (under 5 %): a shocked report gives exactly the unshocked report's alerts.
    due = isolated_long(400.0)
    now = current_alerts(compute(due, market(), 0.0, Settings()), due, market(), thresholds)
    assert [a.kind for a in now] == ["margin_ratio_warn", "liquidation_distance"]
    assert now[1].value == pytest.approx((50_000.0 - 49_600.0 / 0.995) / 50_000.0 * 100.0)
    for shock in (-30.0, 5.0):
        shocked = compute(due, market(), shock, Settings())
        assert current_alerts(shocked, due, market(), thresholds) == now


def test_distance_basis_funding_and_flip_thresholds():
    mkt = make_market(
        {"BTC": 50_000.0},
        {PERP: 50_100.0, DATED: 51_000.0},
        funding={PERP: -0.0005},
        expiries={DATED: CLOCK_MS + 73 * DAY_MS},
    )
    portfolio = isolated_long(5_000.0)
    t = AlertThresholds(liquidation_distance_pct=20.0, basis_pct=9.0, funding_apr_pct=50.0)
    got = {(a.kind, a.target): a for a in alerts_of(portfolio, mkt, t, {PERP: 0.0001})}
    # Long at 50,000 on 5,000: LP = (5,000 - 50,000) / (0.005 - 1) = 45,226.13; distance
    # from 50,100 = 9.73 %, under 20 %.
    assert got[("liquidation_distance", "a-btc")].value == pytest.approx(
        (50_100 - 45_000 / 0.995) / 50_100 * 100
    )
    # Dated: basis 2 % over 73 days = 10 % annualized >= 9 %. Perp: basis 0.2 %, under 9 %.
    assert got[("basis", DATED)].value == pytest.approx(10.0)
    assert ("basis", PERP) not in got
    # Funding -0.05 % per 8 h = -54.75 % APR, |APR| >= 50 %; and it flipped from +0.01 %.
    assert got[("funding_apr", PERP)].value == pytest.approx(-54.75)
    flip = got[("funding_flip", PERP)]
    assert flip.value == -0.0005 and "shorts now pay longs" in flip.message


def test_stale_quotes_by_stale_s():
    mkt = make_market({"BTC": 50_000.0}, {PERP: 50_000.0}, clock_ms=CLOCK_MS)
    later = type(mkt)(**{**mkt.__dict__, "clock_ms": CLOCK_MS + 90_000})
    portfolio = isolated_long(5_000.0)
    assert alerts_of(portfolio, later, AlertThresholds(stale_s=120.0)) == ()
    stale = alerts_of(portfolio, later, AlertThresholds(stale_s=60.0))
    assert {(a.kind, a.target) for a in stale} == {("stale", "BTC/USDT"), ("stale", PERP)}
    assert all(a.value == 90.0 for a in stale)


def test_a_basis_trade_without_its_spot_leg_is_a_single_leg():
    portfolio = Portfolio(
        collateral_usd=10_000.0,
        positions=(
            Position(
                "carry",
                "alpha",
                PERP,
                "short",
                0.1,
                50_000.0,
                2.0,
                "isolated",
                kind="basis",
                spot_qty=0.0,
            ),
        ),
    )
    alerts = alerts_of(portfolio, market())
    assert [(a.kind, a.target) for a in alerts] == [("single_leg", "carry")]
    assert "spot_qty 0" in alerts[0].message


def test_net_beta_band():
    report = compute(isolated_long(5_000.0), market(), 0.0, Settings())
    # Net: 50,000 spot + 50,000 long = 100,000 over equity 65,000: 1.54.
    alert = net_beta_alert(report, (0.0, 1.0))
    assert alert is not None and alert.value == pytest.approx(100_000 / 65_000)
    assert alert.threshold == 1.0
    assert net_beta_alert(report, (0.0, 2.0)) is None
    assert net_beta_alert(report, None) is None


def a(kind: str, target: str = "a-btc") -> Alert:
    return Alert(kind, target, 0.6, 0.5, kind)


def test_hysteresis_one_alert_per_crossing_none_while_it_stays():
    tracker = AlertTracker()
    assert tracker.update([a("margin_ratio_warn")]) == [a("margin_ratio_warn")]
    assert tracker.update([a("margin_ratio_warn")]) == []  # still beyond: silent
    assert tracker.update([a("margin_ratio_danger")]) == [a("margin_ratio_danger")]  # worse
    assert tracker.update([a("margin_ratio_warn")]) == []  # better, still beyond warn
    assert tracker.update([a("margin_ratio_danger")]) == [a("margin_ratio_danger")]
    assert tracker.update([]) == []  # back inside: cleared
    assert tracker.update([a("margin_ratio_warn")]) == [a("margin_ratio_warn")]  # new crossing
    # Other targets and families are their own.
    both = [a("margin_ratio_warn"), a("basis", PERP)]
    assert tracker.update(both) == [a("basis", PERP)]


CONFIG = """
[alerts]
margin_ratio_warn = 0.5
margin_ratio_danger = 0.8
liquidation_distance_pct = 15
basis_pct = 20
funding_apr_pct = 30
stale_s = 60
net_beta_band = [0.2, 0.9]

[fees]
taker_pct = 0.05
maker_pct = 0.02

[fees.bybit]
taker_pct = 0.055
"""


def test_alerts_and_fees_are_read_from_the_config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    risk = load_risk_settings(path)
    assert risk.alerts == AlertThresholds(0.5, 0.8, 15.0, 20.0, 30.0, 60.0, (0.2, 0.9))
    assert risk.fees_of("binance").taker_pct == 0.05
    bybit = risk.fees_of("bybit")
    assert (bybit.taker_pct, bybit.maker_pct) == (0.055, 0.02)  # maker from the default


@pytest.mark.parametrize(
    "text, where",
    [
        ("[alerts]\nbasis_pct = 'high'\n", ":2: alerts.basis_pct: must be a number"),
        ("[alerts]\n\nstale = 5\n", ":3: alerts.stale: unknown key"),
        ("[fees]\ntaker_pct = -1\n", ":2: fees.taker_pct: must be >= 0"),
        ("[fees.okx]\nmaker_pct = 0.1\ntaker = 1\n", ":3: fees.okx.taker: unknown key"),
        ("[alerts]\nnet_beta_band = [1, 0]\n", ":2: alerts.net_beta_band"),
    ],
)
def test_bad_alert_and_fee_keys_name_file_line_and_key(tmp_path, text, where):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_risk_settings(path)
    assert str(info.value).startswith(str(path.resolve()) + where)


def test_report_json_always_has_alerts_and_a_threshold_crossed_shows(tmp_path, capsys):
    config = (PROJECT / "config.toml").read_text(encoding="utf-8")
    assert "funding_apr_pct = 30" in config
    config = config.replace("funding_apr_pct = 30", "funding_apr_pct = 12")
    config = config.replace('path = "portfolio.toml"', f'path = "{PROJECT / "portfolio.toml"}"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    assert (
        main(
            [
                "report",
                "--config",
                str(tmp_path / "config.toml"),
                "--replay",
                str(DEMO),
                "--json",
                "--shock",
                "-30",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    # The demo's ETH perpetual pays 13.75 % APR, BTC's 11.46 %: only ETH is beyond 12 %.
    assert [(x["kind"], x["target"]) for x in doc["alerts"]] == [("funding_apr", "ETH/USDT:USDT")]
    assert set(doc["alerts"][0]) == {"kind", "target", "value", "threshold", "message"}
    # The table for people says it too, one line per alert.
    assert main(["report", "--config", str(tmp_path / "config.toml"), "--replay", str(DEMO)]) == 0
    alert_lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("alert:")]
    assert alert_lines == ["alert: ETH/USDT:USDT funding APR +13.75 % beyond ±12 %"]


def test_a_bad_alerts_key_in_config_exits_2_naming_it(tmp_path, capsys):
    config = (PROJECT / "config.toml").read_text(encoding="utf-8")
    config = config.replace("margin_ratio_danger = 0.8", "margin_ratio_danger = 0.8\nbasis = 3")
    config = config.replace('path = "portfolio.toml"', f'path = "{PROJECT / "portfolio.toml"}"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    assert main(["report", "--config", str(tmp_path / "config.toml"), "--replay", str(DEMO)]) == 2
    assert "alerts.basis: unknown key" in capsys.readouterr().err


def test_with_several_venues_each_cross_account_is_its_own_target():
    portfolio = Portfolio(
        collateral_usd=10_000.0,
        holdings=(Holding("BTC", 1.0),),
        positions=(
            Position("h-1", "hedge", PERP, "short", 1.0, 50_000.0, 10.0, "cross"),
            Position("h-2", "hedge", PERP, "short", 1.0, 50_000.0, 10.0, "cross", venue="bybit"),
        ),
        accounts=MappingProxyType({"bybit": 400.0}),
    )
    mkt = replace(market(), exchange="binance")
    # binance: 250 / 10,000 = 2.5 %; bybit: 250 / 400 = 62.5 %, warn.
    assert [(a.kind, a.target) for a in alerts_of(portfolio, mkt)] == [
        ("margin_ratio_warn", "account:bybit")
    ]


def test_the_app_does_not_start_on_a_bad_fees_key(tmp_path, capsys):
    config = (PROJECT / "config.toml").read_text(encoding="utf-8")
    config = config.replace("maker_pct = 0.02", "maker_pct = 'low'")
    config = config.replace('path = "portfolio.toml"', f'path = "{PROJECT / "portfolio.toml"}"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    assert main(["--config", str(tmp_path / "config.toml"), "--replay", str(DEMO)]) == 2
    assert "fees.maker_pct: must be a number" in capsys.readouterr().err


def test_a_contract_of_another_venue_is_targeted_with_its_venue():
    base = make_market({"BTC": 50_000.0}, {PERP: 50_000.0}, funding={PERP: 0.0001})
    other = replace(base.contracts[PERP], funding_rate=0.0005)  # 54.75 % APR
    mkt = replace(
        base,
        exchange="binance",
        contracts=MappingProxyType({PERP: base.contracts[PERP], f"{PERP}@bybit": other}),
    )
    got = alerts_of(isolated_long(5_000.0), mkt, AlertThresholds(funding_apr_pct=30.0))
    assert [(a.kind, a.target) for a in got] == [("funding_apr", f"{PERP}@bybit")]
