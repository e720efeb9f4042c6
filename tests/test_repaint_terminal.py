"""The real app in a pseudo-terminal: a feed tick writes only the rows it changes,
and what the terminal shows after ticks and keys is what a full repaint shows.

The terminal is modelled from the bytes the app wrote (text and SGR style of
every cell); a full repaint from scratch is forced by resizing the terminal (a
new width: every widget renders again, none from its caches) and back.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import sys
import termios
import time
from pathlib import Path

from benchmarks.screen import Screen
from benchmarks.terminal import HEIGHT, PANE_TITLES, WIDTH, Terminal
from tests.tui_helpers import make_workspace

# A complete SGR sequence, and the start of a CSI sequence cut off at the end of a read.
_SGR = re.compile(rb"\x1b\[([0-9;]*)m")
_CUT = re.compile(rb"\x1b(?:\[[0-9;]*)?$")
_MOVE = re.compile(rb"\x1b\[(\d+);\d+H")


class StyledScreen(Screen):
    """The text model of benchmarks.screen, plus the SGR style each cell was written in."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self.sgr = ""
        self.styles = [[""] * width for _ in range(height)]
        self._held = b""

    def feed(self, data: bytes) -> None:
        data = self._held + data
        cut = _CUT.search(data)
        self._held = data[cut.start() :] if cut else b""
        data = data[: cut.start()] if cut else data
        start = 0
        for match in _SGR.finditer(data):
            super().feed(data[start : match.start()])
            params = match.group(1).decode()
            self.sgr = "" if params in ("", "0") else params
            start = match.end()
        super().feed(data[start:])

    def _write(self, text: str) -> None:
        row, x = self.styles[self.y], self.x
        end = min(x + len(text), self.width)
        row[x:end] = [self.sgr] * (end - x)
        super()._write(text)

    def cells(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(text, tuple(styles)) for text, styles in zip(self.rows, self.styles, strict=True)]


def short_replay(folder: Path, ticks: int) -> Path:
    """The demo replay cut after its first `ticks` timestamps (one a second)."""
    source = folder / "data" / "demo.jsonl"
    kept: list[str] = []
    stamps: list[str] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        ts = re.search(r'"ts":(\d+)', line)
        assert ts is not None
        if ts.group(1) not in stamps:
            if len(stamps) == ticks:
                break
            stamps.append(ts.group(1))
        kept.append(line)
    path = folder / "data" / "short.jsonl"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def resize(term: Terminal, width: int, height: int) -> None:
    fcntl.ioctl(term.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    os.kill(term.proc.pid, signal.SIGWINCH)


def frames(term: Terminal, seconds: float) -> list[bytes]:
    """What the app wrote for `seconds`, one item per frame (4 ms of silence ends one)."""
    found = []
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        got = term.read(left)
        if got is None:
            continue
        frame = got[1]
        while (more := term.read(0.004)) is not None:
            frame += more[1]
        found.append(frame)
    return found


def test_ticks_and_keys_leave_the_terminal_as_a_full_repaint_would(tmp_path, monkeypatch):
    folder = make_workspace(tmp_path)
    replay = short_replay(folder, ticks=6)
    monkeypatch.setenv("XDG_STATE_HOME", str(folder / "state"))
    monkeypatch.setenv("SYMBIOSIS_OFFLINE", "1")
    # Without COLUMNS and LINES (the harness pins them), the app reads its size from
    # the terminal, so that a resize reaches it.
    argv = ["env", "-u", "COLUMNS", "-u", "LINES", sys.executable, "-c"]
    argv += ["from tui.cli import main; raise SystemExit(main())"]
    argv += ["--config", str(folder / "config.toml"), "--replay", str(replay)]
    screen = StyledScreen(WIDTH, HEIGHT)
    term = Terminal(argv, cwd=folder, screen=screen)
    try:
        started = time.perf_counter()
        titles = re.compile("(?s)" + "".join(f"(?=.*{re.escape(t)})" for t in PANE_TITLES))
        assert term.wait_for(titles, 40.0) is not None, screen.text()
        # Ticks while the replay plays: each writes a few rows, not the screen
        # (the alpha engine's empty lines, rows 17 and down, are never sent again).
        # Start-up may still repaint the whole screen once, before the first tick.
        written = [sorted({int(m.group(1)) for m in _MOVE.finditer(f)}) for f in frames(term, 3.0)]
        ticks = [rows for rows in written if len(rows) > 2]
        while ticks and len(ticks[0]) > 12:
            ticks.pop(0)
        assert len(ticks) >= 2, written
        for rows in ticks:
            assert len(rows) <= 12 and max(rows) < 17, rows
        # Once the replay has ended (no tick repaints a row the keys left behind), keys
        # that move the cursor, the focus, the shock and the sort.
        term.drain(max(7.0 - (time.perf_counter() - started), 0) + 0.5)
        keys = (b"1", b"lll", b"s", b"3", b"]", b"]", b"[", b"4", b"j", b"\t", b"1", b"j", b"h")
        for key in keys:
            term.write(key)
            term.drain(0.3)
        term.drain(0.5)
        painted = screen.cells()
        assert "Shock +1%" in screen.text()
        # Another width makes every widget render afresh, not from its caches.
        resize(term, WIDTH - 7, HEIGHT - 3)
        term.drain(1.0)
        resize(term, WIDTH, HEIGHT)
        term.drain(1.5)
        fresh = screen.cells()
    finally:
        term.close()
    stale = [
        y
        for y, (a, b) in enumerate(zip(painted, fresh, strict=True))
        if a != b and "Feed " not in b[0]  # the feed's age counts on by the second
    ]
    assert not stale, "\n".join(
        f"row {y + 1}:\n  painted {painted[y][0]!r}\n  fresh   {fresh[y][0]!r}"
        + ("\n  (styles differ)" if painted[y][0] == fresh[y][0] else "")
        for y in stale[:5]
    )
