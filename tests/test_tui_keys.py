"""No key is lost: a burst of keys (a paste, tmux, a laggy SSH link) reaches the cell
editor in order, in the pilot and in a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from textual import events
from textual.keys import _character_to_key

from core.config import load_portfolio
from tests.tui_helpers import make_app, make_workspace
from tui.widgets.book_table import BookTable


def burst(app, keys: list[str]) -> None:
    """Post every key at once, as a terminal delivers a chunk: no pause between keys."""
    for key in keys:
        if len(key) == 1:
            name = key if key.isalnum() else _character_to_key(key)
            app.post_message(events.Key(name, key))
        else:
            app.post_message(events.Key(key, "\r" if key == "enter" else None))


async def until_keys_done(pilot, timeout: float = 15.0) -> None:
    """Wait until the app has handled every key of the burst (it never drops one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.1)
        if not pilot.app.keys.busy:
            break
    await pilot.pause()


def chars(text: str) -> list[str]:
    return list(text)


async def focus_hedge_size(pilot) -> BookTable:
    await pilot.press("2")
    table = pilot.app.screen.query_one("#hedge-table", BookTable)
    table.cursor_col = [c.key for c in table.columns].index("size")
    await pilot.pause()
    return table


async def test_a_burst_edit_applies_exactly_once(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = await focus_hedge_size(pilot)
        await pilot.press("]")  # a shock of +1 %: a stray "0" would reset it
        burst(app, ["enter", *chars("+20%"), "enter"])
        await until_keys_done(pilot)
        # 0.5 x 1.2 = 0.6: once, not 0.72 (twice) nor 0.5 (lost).
        assert app.draft.current.position("h-btc").size == pytest.approx(0.6)
        assert app.shock_pct == 1
        assert app.main.edit is None and app.focused is table
        assert len([1 for _ in range(5) if app.draft.history.undo()]) == 1


async def test_keys_after_a_burst_edit_go_on_in_order(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await focus_hedge_size(pilot)
        # Edit, edit again, undo the second: one chunk.
        burst(app, ["enter", *chars("x2"), "enter", "enter", *chars("+10%"), "enter", "u"])
        await until_keys_done(pilot)
        # 0.5 x 2 = 1.0, then 1.1 (+10 %), undone: redo brings 1.1 back.
        assert app.draft.current.position("h-btc").size == pytest.approx(1.0)
        assert app.draft.history.redo()
        assert app.draft.current.position("h-btc").size == pytest.approx(1.1)
        # Another pane, a new row and its text: one chunk.
        burst(app, ["1", "a", *chars("SOL 10"), "enter"])
        await until_keys_done(pilot)
        sol = [h for h in app.draft.current.holdings if h.asset == "SOL"]
        assert len(sol) == 1 and sol[0].qty == 10
        assert app.focused.id == "holdings-table"


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class Terminal:
    """The app in a pseudo-terminal; its output is drained so it never blocks."""

    def __init__(self, folder: Path) -> None:
        self.master, slave = pty.openpty()
        _set_size(slave, 120, 40)
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "XDG_STATE_HOME": str(folder / "state"),
            "SYMBIOSIS_OFFLINE": "1",
        }
        command = [sys.executable, "-c", "from tui.cli import main; raise SystemExit(main())"]
        command += ["--config", str(folder / "config.toml")]
        command += ["--replay", str(folder / "data" / "demo.jsonl")]
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=folder,
            start_new_session=True,
        )
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if ready:
                    chunk = os.read(self.master, 65536)
                    if not chunk:
                        return
                    self.output += chunk
            except OSError:
                return

    def wait_for(self, marker: bytes, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.output:
                return True
            time.sleep(0.05)
        return False

    def write(self, data: bytes) -> None:
        os.write(self.master, data)  # one chunk, as a paste or a laggy link delivers it

    def close(self) -> int | None:
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGTERM)
            return self.process.wait(timeout=10)
        finally:
            os.close(self.master)


def test_a_burst_written_to_a_real_terminal_applies_exactly_once(tmp_path):
    folder = make_workspace(tmp_path)
    terminal = Terminal(folder)
    try:
        assert terminal.wait_for(b"Alpha engine"), bytes(terminal.output[-400:])
        time.sleep(1.0)
        terminal.write(b"2")
        time.sleep(0.5)
        terminal.write(b"lll")  # Id -> Contract -> Side -> Size
        time.sleep(0.5)
        terminal.write(b"\r+20%\r")
        time.sleep(2.0)
        terminal.write(b"\x13")  # ctrl+s: save the draft
        assert terminal.wait_for(b"saved portfolio.toml", 10.0)
        terminal.write(b"q")
    finally:
        code = terminal.close()
    assert code == 0
    assert load_portfolio(folder / "portfolio.toml").portfolio.position("h-btc").size == (
        pytest.approx(0.6)
    )
