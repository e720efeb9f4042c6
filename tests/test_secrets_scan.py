"""No API key, secret or password in any output, note, log or file, errors included.

Marker values go in SYMBIOSIS_BINANCE_API_KEY / _SECRET / _PASSWORD; real ccxt
exchanges are built from them, and their HTTP layer (or their constructor) fails
with a message that echoes the credentials back, as a careless error page would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import pytest

from core.feeds.ccxt_feed import CcxtFeed
from core.feeds.secrets import describe_fault
from tests.test_feeds_ccxt import (
    RecordedHttp,
    binance_routes,
    make_feed,
    offline_exchange,
    recorded_markets,
)

ROOT = Path(__file__).resolve().parent.parent
MARKERS = {
    "SYMBIOSIS_BINANCE_API_KEY": "MARKERAPIKEY7d1f3a",
    "SYMBIOSIS_BINANCE_SECRET": "MARKERSECRET9c2e4b",
    "SYMBIOSIS_BINANCE_PASSWORD": "MARKERPASSWORD5a8e",
}
LEAK = "echo apiKey={apiKey} secret={secret} password={password}"


def assert_no_marker(*texts: str) -> None:
    for text in texts:
        for marker in MARKERS.values():
            assert marker not in text
        assert "MARKER" not in text


def files_under(folder: Path) -> str:
    return "".join(
        p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()
    )


@pytest.fixture
def markers(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in MARKERS.items():
        monkeypatch.setenv(name, value)
    return MARKERS


def test_a_fault_is_described_with_every_credential_of_the_environment_masked(markers):
    fault = RuntimeError("sent " + " and ".join(markers.values()))
    assert describe_fault(fault) == ("RuntimeError: sent [redacted] and [redacted] and [redacted]")


# -- in process: every feed call and the constructor fail ------------------------------------

# The first request of each stage: markets (a signed currencies call, keys being set),
# spot and futures tickers, funding, tiers.
STAGES = ["capital/config", "api/v3/ticker", "fapi/v1/ticker", "premiumIndex", "leverageBracket"]


class LeakyHttp(RecordedHttp):
    """Answers as recorded, but the request to `fragment` fails echoing the credentials."""

    def __init__(self, routes: dict[str, Any], fragment: str, exchange: Any) -> None:
        super().__init__(routes)
        self.fragment, self.exchange = fragment, exchange

    async def __call__(self, url: str, method: str = "GET", headers=None, body=None) -> Any:
        if self.fragment in url:
            self.urls.append(url)
            e = self.exchange
            raise ccxt.ExchangeError(
                LEAK.format(apiKey=e.apiKey, secret=e.secret, password=e.password) + f" {url}"
            )
        return await super().__call__(url, method, headers, body)


@pytest.mark.parametrize("fragment", STAGES)
async def test_a_failing_feed_call_shows_no_secret_in_problems_or_state(markers, fragment):
    exchange = offline_exchange("binance")
    assert exchange.apiKey == markers["SYMBIOSIS_BINANCE_API_KEY"]  # built from the markers
    if fragment != "capital/config":
        exchange.set_markets(recorded_markets("binance"))
    http = LeakyHttp(binance_routes(), fragment, exchange)
    exchange.fetch = http
    try:
        feed = make_feed(exchange)
        state = await feed.poll_once()
        feed._clock_ms.now += 3_600_000  # tiers and markets due again
        state = await feed.poll_once()
    finally:
        await exchange.close()
    assert any(fragment in url for url in http.urls), http.urls
    assert feed.problems, "the fault must have been seen"
    assert_no_marker(json.dumps(feed.problems), state.note, repr(feed.problems))


async def test_a_constructor_that_raises_with_the_keys_shows_none_of_them(markers, monkeypatch):
    def leaky_constructor(self: Any, config: Any = None) -> None:
        raise ValueError(f"cannot build from {config!r}")

    monkeypatch.setattr(ccxt.async_support.binance, "__init__", leaky_constructor)
    feed = CcxtFeed("binance", ["BTC/USDT"], websocket=False)
    state = await feed.poll_once()
    await feed.stop()
    assert state.status == "offline"
    assert "cannot build from" in feed.problems["exchange"]
    assert_no_marker(json.dumps(feed.problems))


# -- subprocesses: report, record and the app --------------------------------------------------

LEAKY_SITE = textwrap.dedent(
    """
    import os
    import ccxt
    from ccxt.async_support.base.exchange import Exchange

    LEAK = {leak!r}

    async def leaky_fetch(self, url, method="GET", headers=None, body=None):
        raise ccxt.NetworkError(
            LEAK.format(apiKey=self.apiKey, secret=self.secret, password=self.password)
        )

    Exchange.fetch = leaky_fetch
    if os.environ.get("LEAK_IN_CONSTRUCTOR") == "1":
        import ccxt.async_support, ccxt.pro

        def leaky_init(self, config=None):
            raise RuntimeError("constructor saw " + repr(config))

        ccxt.async_support.binance.__init__ = leaky_init
        ccxt.pro.binance.__init__ = leaky_init
    """
)


def leaky_env(tmp_path: Path, constructor: bool) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(LEAKY_SITE.format(leak=LEAK))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{site}{os.pathsep}{ROOT}",
        "HOME": str(tmp_path),
        **MARKERS,
    }
    if constructor:
        env["LEAK_IN_CONSTRUCTOR"] = "1"
    return env


@pytest.mark.parametrize("constructor", [False, True], ids=["http", "constructor"])
def test_report_and_record_with_a_leaky_exchange_print_and_write_no_secret(tmp_path, constructor):
    work = tmp_path / "work"
    work.mkdir()
    env = leaky_env(tmp_path, constructor)
    report = subprocess.run(
        [sys.executable, "-m", "tui.cli", "report", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    assert report.stderr.startswith("offline: ")
    out = work / "rec.jsonl"
    record = subprocess.run(
        [sys.executable, "-m", "tui.cli", "record", "--out", str(out), "--seconds", "1.5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert record.returncode == 1, record.stderr  # nothing recorded
    assert record.stderr.startswith("offline: nothing recorded from binance")
    assert not out.exists()
    assert_no_marker(report.stdout, report.stderr, record.stdout, record.stderr)
    assert_no_marker(files_under(tmp_path / "work"))
    assert "Traceback" not in report.stderr + record.stderr


async def test_the_app_on_a_leaky_exchange_shows_no_secret(tmp_path, markers, monkeypatch):
    from tests.tui_helpers import make_workspace
    from tui.app import SymbiosisApp
    from tui.cli import open_session
    from tui.feed_runner import initial_market_and_feed

    async def leaky_fetch(self: Any, url: str, method="GET", headers=None, body=None) -> Any:
        raise ccxt.NetworkError(
            LEAK.format(apiKey=self.apiKey, secret=self.secret, password=self.password)
        )

    from ccxt.async_support.base.exchange import Exchange

    monkeypatch.setattr(Exchange, "fetch", leaky_fetch)
    monkeypatch.delenv("SYMBIOSIS_OFFLINE", raising=False)
    folder = make_workspace(tmp_path)
    config = folder / "config.toml"
    config.write_text(config.read_text().replace('kind = "replay"', 'kind = "ccxt"', 1))
    session = open_session(str(config), None, None)
    market, feed, notice = initial_market_and_feed(session, replay_given=False)
    app = SymbiosisApp(session.config, session.loaded, market, feed, notice)
    said: list[str] = []
    real_say = app.say

    def listening_say(text: str, severity: str = "information") -> None:
        said.append(text)
        real_say(text, severity)

    app.say = listening_say  # type: ignore[method-assign]
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.1)
            if any(text.startswith("offline") for text in said):
                break
        screen = app.export_screenshot()
    assert any(text.startswith("offline: binance unreachable") for text in said), said
    assert_no_marker(*said, screen, app.market.note, files_under(folder))
