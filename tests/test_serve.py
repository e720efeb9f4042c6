"""`symbiosis serve`: the real server in a subprocess, its page, its websocket, a real browser.

The browser is the system's headless Chromium driven over the DevTools protocol with the
aiohttp client that the web extra already brings: no browser driver to install, and the
text checked is what xterm.js (textual-serve's front end) holds after drawing the app's
frames, read from its own buffer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.config import load_config, load_portfolio
from core.engine import compute
from core.feeds.replay_file import load_replay_end, numbered_events
from tests.tui_helpers import ROOT, make_workspace
from tui import format as fmt
from tui.cli import build_parser, main
from tui.serve import app_command, build_server, is_loopback

CHROMIUM = os.environ.get("SYMBIOSIS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HEDGE_ID = "h-web"  # the hedge's id in OTHER_BOOK (the demo's is h-btc)
OTHER_BOOK = "other book.toml"
# Pane titles and the summary's first figure, as the app draws them.
SCREEN_WORDS = ("Equity", "Holdings", "Hedge overlay", "Alpha engine", "Basis ticker")
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def still_replay(path: Path) -> None:
    """The demo's first instant only: prices that stay put, so figures can be compared."""
    first_ts = None
    lines = []
    for _, event in numbered_events(ROOT / "data" / "demo.jsonl"):
        first_ts = event["ts"] if first_ts is None else first_ts
        if event["ts"] != first_ts:
            break
        lines.append(json.dumps(event))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Served:
    """A running `symbiosis serve` and what it printed."""

    process: subprocess.Popen[str]
    url: str
    port: int
    output: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.output)


def start_server(folder: Path, *extra: str) -> Served:
    port = free_port()
    argv = [sys.executable, "-m", "tui.cli", *extra, "serve", "--port", str(port)]
    process = subprocess.Popen(
        argv,
        cwd=folder,
        env={**os.environ, "SYMBIOSIS_OFFLINE": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(process, f"http://127.0.0.1:{port}", port)
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(
        target=lambda: served.output.extend(iter(stdout.readline, "")), daemon=True
    ).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {served.text()}")
        try:
            with urllib.request.urlopen(served.url, timeout=2) as response:
                if response.status == 200:
                    return served
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"serve did not answer within 30 s: {served.text()}")


def stop_server(served: Served) -> int:
    """Ctrl+C, as a user stops it; the exit code."""
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGINT)
        try:
            served.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()
            raise AssertionError("serve did not stop within 15 s of Ctrl+C") from None
    return served.process.returncode


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose name needs quoting in a shell: config.toml and its portfolio.toml (the
    demo's), another book beside them (the demo with its hedge renamed), a still replay."""
    base = tmp_path_factory.mktemp("serve")
    folder = base / "book's dir $HOME"
    folder.mkdir()
    make_workspace(folder)
    portfolio = (ROOT / "portfolio.toml").read_text(encoding="utf-8")
    other = portfolio.replace('id = "h-btc"', f'id = "{HEDGE_ID}"')
    (folder / OTHER_BOOK).write_text(other, encoding="utf-8")
    still_replay(folder / "still prices.jsonl")
    return folder


@pytest.fixture(scope="module")
def served(book: Path) -> Iterator[Served]:
    # Run from another folder: the served app must find the book by the options alone.
    running = start_server(
        book.parent,
        "--config",
        str(book / "config.toml"),
        "--portfolio",
        str(book / OTHER_BOOK),
        "--replay",
        str(book / "still prices.jsonl"),
    )
    yield running
    assert stop_server(running) == 0


def expected_equity(book: Path) -> str:
    """The summary's equity of that book, from the engine (the figure the app must show)."""
    config = load_config(book / "config.toml")
    portfolio = load_portfolio(book / OTHER_BOOK).portfolio
    market = load_replay_end(book / "still prices.jsonl")
    return fmt.usd(compute(portfolio, market, 0.0, config.settings).totals.equity)


# --- command line -------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    """The real command line, in this process (each of these ends before serving)."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's --help
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def test_serve_help_says_it_has_no_authentication_and_binds_localhost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = run_cli(capsys, "serve", "--help")
    assert ran.code == 0
    help_text = " ".join(ran.out.split())
    assert "no authentication" in help_text
    assert "SSH tunnel" in help_text
    assert "default 127.0.0.1" in help_text
    assert "pip install -e '.[web]'" in help_text


def test_serve_without_the_web_extra_exits_2_with_one_line_naming_the_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes the import fail exactly as if the extra were not
    # installed; the rest is the real command line.
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    ran = run_cli(capsys, "serve", "--replay", str(ROOT / "data" / "demo.jsonl"))
    assert ran.code == 2
    assert ran.out == ""
    assert ran.err.splitlines() == [
        "symbiosis: serve needs the web extra: pip install 'symbiosis[web]' "
        "(from a clone: pip install -e '.[web]')"
    ]


def test_serve_refuses_a_bad_config_before_serving(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ran = run_cli(capsys, "--config", str(tmp_path / "missing.toml"), "serve", "--port", "1")
    assert ran.code == 2
    assert "missing.toml" in ran.err
    assert len(ran.err.splitlines()) == 1
    assert ran.out == ""


def test_serve_refuses_a_missing_replay_before_serving(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gone = tmp_path / "gone.jsonl"
    ran = run_cli(capsys, "serve", "--replay", str(gone), "--port", "1")
    assert ran.code == 2
    assert ran.err.splitlines() == [
        f"symbiosis: {gone}: cannot open replay file (No such file or directory)"
    ]
    assert ran.out == ""


def test_serve_on_a_port_in_use_exits_1_with_one_line_and_no_banner(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = run_cli(
            capsys, "--replay", str(ROOT / "data" / "demo.jsonl"), "serve", "--port", str(port)
        )
    assert ran.code == 1
    assert ran.err.splitlines() == [
        f"symbiosis: cannot serve on 127.0.0.1:{port} (address already in use)"
    ]
    assert ran.out == ""  # never "serving on ..." for an address it could not bind


def test_serve_on_a_host_that_is_no_address_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    ran = run_cli(
        capsys,
        "--replay",
        str(ROOT / "data" / "demo.jsonl"),
        "serve",
        "--host",
        "no-such-host.invalid",
    )
    assert ran.code == 2
    assert ran.err.startswith("symbiosis: --host no-such-host.invalid: ")
    assert len(ran.err.splitlines()) == 1
    assert ran.out == ""


def test_app_command_is_the_tui_on_the_same_options_quoted_for_a_shell() -> None:
    parser = build_parser()
    config = "/tmp/book's dir $HOME/config.toml"
    replay = "-still `prices`.jsonl"  # a leading '-' must not read as a flag
    before = parser.parse_args(["--config", config, f"--replay={replay}", "serve"])
    after = parser.parse_args(["serve", "--config", config, f"--replay={replay}", "--port", "9"])
    expected = [sys.executable, "-m", "tui.cli", f"--config={config}", f"--replay={replay}"]
    for args in (before, after):
        assert shlex.split(app_command(parser, args)) == expected
    # The words a shell makes of it (`set --` parses them as for a command, runs nothing):
    # nothing split, expanded or substituted.
    shell = subprocess.run(
        ["sh", "-c", f"set -- {app_command(parser, before)}; printf '%s\\n' \"$@\""],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.splitlines() == expected


async def test_a_public_address_gets_a_second_warning_on_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The banner alone, without binding 0.0.0.0 on the test machine.
    await build_server("true", "0.0.0.0", 8123).on_startup(None)
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "Symbiosis in a browser: http://0.0.0.0:8123 (Ctrl+C stops it)"
    assert "no authentication" in said[1]
    assert "ssh -L 8123:127.0.0.1:8123 HOST" in said[1]
    assert said[2] == "Warning: bound to 0.0.0.0, which other machines may reach."


def test_only_loopback_addresses_count_as_local() -> None:
    assert all(map(is_loopback, ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "192.168.1.4", "example.com", "")))


# --- the page and its websocket --------------------------------------------------------


def test_start_says_where_it_serves_and_that_there_is_no_authentication(served: Served) -> None:
    said = " ".join(served.text().split())
    assert f"http://127.0.0.1:{served.port}" in said
    assert "no authentication" in said
    assert "SSH tunnel" in said
    assert "other machines may reach" not in said  # on loopback, no exposure warning


def test_page_loads_the_terminal_and_names_its_websocket(served: Served) -> None:
    with urllib.request.urlopen(served.url, timeout=5) as response:
        page = response.read().decode()
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page
    assert "js/textual.js" in page
    assert "<div>Symbiosis</div>" in page
    with urllib.request.urlopen(f"{served.url}/static/js/textual.js", timeout=5) as response:
        assert b"xterm" in response.read()


def test_page_follows_the_address_the_browser_used(served: Served) -> None:
    # Through `ssh -L 9000:127.0.0.1:PORT` the browser asks localhost:9000: the page must
    # point its websocket there, not at the server's own port.
    request = urllib.request.Request(served.url, headers={"Host": "localhost:9000"})
    with urllib.request.urlopen(request, timeout=5) as response:
        page = response.read().decode()
    assert 'data-session-websocket-url="ws://localhost:9000/ws"' in page


def test_page_asked_for_under_another_sites_name_is_refused(served: Served) -> None:
    # DNS rebinding: evil.example resolved to 127.0.0.1 must not read the book.
    request = urllib.request.Request(served.url, headers={"Host": f"evil.example:{served.port}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


async def read_frames(served: Served, words: tuple[str, ...], timeout: float = 20) -> str:
    """Open the websocket as the page does; the app's output (escapes removed) once it
    holds every word."""
    url = f"ws://127.0.0.1:{served.port}/ws?width=160&height=45"
    seen = ""
    async with aiohttp.ClientSession() as client:
        async with client.ws_connect(url, origin=served.url) as ws:
            await ws.send_str(json.dumps(["resize", {"width": 160, "height": 45}]))
            async with asyncio.timeout(timeout):
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        seen += ANSI.sub("", message.data.decode("utf-8", "replace"))
                        if all(word in seen for word in words):
                            return seen
    raise AssertionError(f"the websocket closed before showing {words}: {seen[-2000:]}")


async def test_websocket_streams_the_apps_frames_for_this_book(served: Served) -> None:
    seen = await read_frames(served, (*SCREEN_WORDS, HEDGE_ID))
    assert "Traceback" not in seen
    assert "h-btc" not in seen  # the --portfolio book, not the config's own


@pytest.mark.parametrize("origin", ["http://evil.example", None])
async def test_websocket_from_another_page_is_refused(served: Served, origin: str | None) -> None:
    # Any web page may open a websocket to localhost; only the served page may drive the app.
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession(skip_auto_headers=["Origin"]) as client:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(f"ws://127.0.0.1:{served.port}/ws", headers=headers)
    assert refused.value.status == 403


def app_processes(server_pid: int) -> list[int]:
    """Processes the server started (one app per browser session)."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


async def read_until_closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def test_ctrl_c_stops_the_server_and_its_app_sessions_at_once(book: Path) -> None:
    running = start_server(book, "--replay", str(book / "still prices.jsonl"))
    try:
        url = f"ws://127.0.0.1:{running.port}/ws?width=100&height=30"
        async with aiohttp.ClientSession() as client:
            async with client.ws_connect(url, origin=running.url) as ws:
                first = await ws.receive(timeout=20)
                assert first.type == aiohttp.WSMsgType.BINARY
                apps = app_processes(running.process.pid)
                assert len(apps) == 1
                # Keep reading, as a browser does, so the close handshake is answered.
                reader = asyncio.create_task(read_until_closed(ws))
                started = time.monotonic()
                code = await asyncio.to_thread(stop_server, running)
                stopped_in = time.monotonic() - started
                await asyncio.wait_for(reader, 5)
                assert ws.closed
    finally:
        stop_server(running)
    assert code == 0
    # aiohttp alone would wait up to a minute for the open session.
    assert stopped_in < 5, f"took {stopped_in:.1f} s"
    assert not Path(f"/proc/{apps[0]}").exists(), "the session's app outlived the server"


# --- a real browser --------------------------------------------------------------------

# Keeps the page's xterm.js Terminal reachable: the page stores it as `this.terminal` on
# an object of its own, and this setter on Object.prototype sees that first assignment.
CAPTURE_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true});
    if (value && typeof value.write === "function") window.__xterm = value;
  },
});
"""
SCREEN_TEXT = """
(() => {
  const term = window.__xterm;
  if (!term) return "";
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return term.cols + "x" + term.rows + "\\n" + rows.join("\\n");
})()
"""


class DevTools:
    """The few DevTools protocol calls the test needs, over one page's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last_id = 0

    async def call(self, method: str, **params: object) -> dict[str, Any]:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        async for message in self.ws:
            reply = json.loads(message.data)
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply["result"])
        raise AssertionError(f"DevTools closed during {method}")

    async def evaluate(self, expression: str) -> object:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """A headless Chromium with remote debugging; its DevTools HTTP address."""
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} missing: apt-get install -y chromium (.ci/run does)"
    )
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            # Nothing leaves the machine: the page's web font link fails at once.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--window-size=1500,900",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            assert browser.poll() is None, f"chromium exited {browser.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().split()[0]}"
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait()


async def test_browser_shows_the_summary_and_four_panes_of_this_book(
    served: Served, book: Path, chromium: str, tmp_path: Path
) -> None:
    equity = expected_equity(book)
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{chromium}/json/list") as response:
            pages = [t for t in await response.json() if t["type"] == "page"]
        async with client.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tab = DevTools(ws)
            await tab.call("Page.enable")  # scripts for new documents need the Page domain
            await tab.call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE_TERMINAL)
            await tab.call("Page.navigate", url=served.url)
            words = (*SCREEN_WORDS, HEDGE_ID, equity)
            screen = ""
            deadline = time.monotonic() + 30
            while not all(word in screen for word in words):
                assert time.monotonic() < deadline, f"browser never showed {words}:\n{screen}"
                await asyncio.sleep(0.2)
                screen = str(await tab.evaluate(SCREEN_TEXT))
            # A key typed in the page reaches the app: `]` shocks the market +1 %.
            await tab.evaluate("window.__xterm.focus()")
            for kind in ("rawKeyDown", "char", "keyUp"):
                await tab.call(
                    "Input.dispatchKeyEvent",
                    type=kind,
                    key="]",
                    code="BracketRight",
                    text="]" if kind == "char" else "",
                    windowsVirtualKeyCode=221,
                )
            while not re.search(r"Shock\s+\+1%", screen):
                assert time.monotonic() < deadline, f"the key never reached the app:\n{screen}"
                await asyncio.sleep(0.2)
                screen = str(await tab.evaluate(SCREEN_TEXT))
            shot = await tab.call("Page.captureScreenshot", format="png")
            (tmp_path / "served.png").write_bytes(base64.b64decode(str(shot["data"])))
    size = screen.splitlines()[0]
    columns = int(size.split("x")[0])
    assert columns >= 120, f"the page's terminal is {size}: too narrow for the 2×2 grid"
    assert "Traceback" not in screen
    assert "h-btc" not in screen  # the --portfolio book, not the config's own
