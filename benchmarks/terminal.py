"""The app in a real pseudo-terminal: key-to-screen latency, bytes on the wire, CPU.

- key to screen: the app runs on a generated book with a replay ticking at 10 Hz;
  shock keys are written to the terminal at random moments, and the clock runs
  from the write until the first bytes read back that put the new shock figure
  in the summary bar (a small terminal model, `benchmarks.screen`, reads them).
  The app is the real one (`benchmarks.app_probe`), which also logs when each
  tick was applied, so each key is known to have landed during a tick or not.
- bytes on the wire: with no key pressed, bytes per second written to the
  terminal and the CPU the process used, for the app and for a minimal Textual
  app (`benchmarks.minimal_app`) that shows as many cells changing as often as
  the app changed words on screen (counted on the same terminal model).
"""

from __future__ import annotations

import fcntl
import os
import pty
import random
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.book_files import write_book
from benchmarks.screen import Screen, changed_words
from benchmarks.stats import percentiles

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 200, 50
PANE_TITLES = ("Holdings", "Hedge overlay", "Alpha engine", "Basis ticker")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Terminal:
    """A process on a pseudo-terminal of WIDTH x HEIGHT, its output read as it comes."""

    argv: list[str]
    cwd: Path = ROOT
    screen: Screen = field(default_factory=lambda: Screen(WIDTH, HEIGHT))
    bytes_read: int = 0

    def __post_init__(self) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(WIDTH)}
        env["LINES"] = str(HEIGHT)
        env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.master = master

    def read(self, timeout: float) -> tuple[float, bytes] | None:
        """The next chunk of output and when it was read, or None after `timeout` s."""
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0.0))
        if not ready:
            return None
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:
            chunk = b""
        now = time.perf_counter()
        if not chunk:
            raise EOFError("the program closed its terminal")
        self.bytes_read += len(chunk)
        self.screen.feed(chunk)
        return now, chunk

    def drain(self, seconds: float) -> None:
        """Read (and show on the screen model) everything written for `seconds`."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            self.read(left)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> float | None:
        """perf_counter when the screen first matched `pattern`, or None on timeout."""
        end = time.perf_counter() + timeout
        if pattern.search(self.screen.text()):
            return time.perf_counter()
        while (left := end - time.perf_counter()) > 0:
            got = self.read(left)
            if got is not None and pattern.search(self.screen.text()):
                return got[0]
        return None

    def write(self, data: bytes) -> float:
        os.write(self.master, data)
        return time.perf_counter()

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def _app_argv(tick_log: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.app_probe", str(tick_log), *args]


def _first_frame(term: Terminal, timeout: float = 40.0) -> bool:
    # Every title on screen, in any order (the layout decides where each pane goes).
    pattern = re.compile("(?s)" + "".join(f"(?=.*{re.escape(t)})" for t in PANE_TITLES))
    return term.wait_for(pattern, timeout) is not None


def _tick_spans(path: Path) -> list[tuple[float, float]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return [(float(a), float(b)) for a, b in (line.split() for line in lines if line.strip())]


def key_to_screen(
    n_positions: int = 1_000,
    n_assets: int = 50,
    presses: int = 100,
    tick_hz: float = 10.0,
    seed: int = 11,
    settle_s: float = 2.0,
) -> dict[str, Any]:
    """Shock keys written at random moments; ms until the new shock figure is on screen."""
    rng = random.Random(seed)
    seconds = 8.0 + presses * 0.45  # longer than the run: the feed never runs dry
    with tempfile.TemporaryDirectory() as folder:
        files = write_book(Path(folder), n_positions, n_assets, tick_hz, seconds)
        tick_log = Path(folder) / "ticks.log"
        term = Terminal(
            _app_argv(tick_log, "--config", str(files.config), "--replay", str(files.replay))
        )
        try:
            if not _first_frame(term):
                raise RuntimeError("the app showed no first frame")
            term.drain(settle_s)  # past start-up: the feed is ticking
            keys: list[tuple[float, float | None]] = []
            started = time.perf_counter()
            for shock in range(1, presses + 1):
                term.drain(rng.uniform(0.02, 0.25))
                written = term.write(b"]")
                seen = term.wait_for(re.compile(rf"Shock \+{shock}%"), 3.0)
                keys.append((written, None if seen is None else (seen - written) * 1000.0))
            elapsed = time.perf_counter() - started
            term.drain(0.3)
        finally:
            term.close()
        spans = _tick_spans(tick_log)
    in_run = [s for s in spans if started <= s[0] <= started + elapsed]
    during = [any(a <= t <= b for a, b in spans) for t, _ in keys]
    shown = [ms for _, ms in keys if ms is not None]
    tick_ms = [(b - a) * 1000.0 for a, b in in_run]
    return {
        "positions": n_positions,
        "contracts": files.n_contracts,
        "terminal": f"{WIDTH}x{HEIGHT}",
        "feed_hz": tick_hz,
        "key": "] (shock +1 %)",
        "presses": presses,
        "shown": len(shown),
        "ms": percentiles(shown) if shown else None,
        "ms_during_tick": _maybe(ms for (_, ms), d in zip(keys, during, strict=True) if d),
        "ms_between_ticks": _maybe(ms for (_, ms), d in zip(keys, during, strict=True) if not d),
        "share_during_tick": sum(during) / len(keys) if keys and spans else None,
        "ticks_applied_per_s": len(in_run) / elapsed if elapsed else 0.0,
        "tick_to_frame_ms": percentiles(tick_ms) if tick_ms else None,
        "tick_log": bool(spans),
        "measured": "write of ']' to the pty until the bytes read back showed "
        "'Shock +N%' in the summary (N the new shock)",
    }


def _maybe(values: Any) -> dict[str, float] | None:
    kept = [v for v in values if v is not None]
    return percentiles(kept) if kept else None


def _wire(argv: list[str], seconds: float, warmup: float, app: bool) -> dict[str, float]:
    """Bytes/s, CPU % and changed words/s of a program left alone on the terminal."""
    term = Terminal(argv)
    try:
        if app:
            if not _first_frame(term):
                raise RuntimeError("no first frame")
        elif term.read(40.0) is None:
            raise RuntimeError("no output")
        term.drain(warmup)
        words = term.screen.words()
        changed = frames = 0
        cpu0, bytes0, t0 = term.cpu_s(), term.bytes_read, time.perf_counter()
        end = t0 + seconds
        while (left := end - time.perf_counter()) > 0:
            if term.read(left) is None:
                continue
            # A frame is what arrives before 4 ms of silence: count its changed words once.
            while term.read(0.004) is not None:
                pass
            frames += 1
            now = term.screen.words()
            changed += changed_words(words, now)
            words = now
        elapsed = time.perf_counter() - t0
        cpu, sent = term.cpu_s() - cpu0, term.bytes_read - bytes0
    finally:
        term.close()
    return {
        "bytes_per_s": sent / elapsed,
        "cpu_pct": cpu / elapsed * 100.0,
        "changed_words_per_s": changed / elapsed,
        "frames_per_s": frames / elapsed,
        "seconds": elapsed,
    }


def _against_minimal(
    app_argv: list[str], feed_hz: float, seconds: float, warmup: float
) -> dict[str, Any]:
    """The app, then the minimal app with as many cells changing per frame and as many
    frames a second as the app showed (the feed's ticks are coalesced by the app)."""
    app = _wire(app_argv, seconds, warmup, app=True)
    hz = max(round(app["frames_per_s"], 1), 0.1)
    cells = max(1, round(app["changed_words_per_s"] / hz))
    minimal_argv = [sys.executable, "-m", "benchmarks.minimal_app", str(cells), str(hz)]
    minimal = _wire(minimal_argv, seconds, warmup, app=False)
    return {
        "feed_hz": feed_hz,
        "app": app,
        "minimal": {**minimal, "cells": cells, "hz": hz},
        "bytes_ratio": app["bytes_per_s"] / minimal["bytes_per_s"],
        "cpu_ratio": app["cpu_pct"] / minimal["cpu_pct"] if minimal["cpu_pct"] else None,
    }


def wire(
    seconds: float = 15.0, warmup: float = 2.0, n_positions: int | None = 1_000
) -> dict[str, Any]:
    """Bytes/s and CPU: the demo book at 1 Hz and (unless n_positions is None) a
    generated book at 10 Hz, each against the minimal app."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "ticks.log"
        demo = _against_minimal(
            _app_argv(log, "--replay", str(ROOT / "data" / "demo.jsonl")), 1.0, seconds, warmup
        )
        demo["book"] = "demo (data/demo.jsonl, portfolio.toml)"
        results = {"demo_1hz": demo}
        if n_positions is not None:
            files = write_book(Path(folder) / "book", n_positions, 50, 10.0, seconds + warmup + 15)
            book = _against_minimal(
                _app_argv(log, "--config", str(files.config), "--replay", str(files.replay)),
                10.0,
                seconds,
                warmup,
            )
            book["book"] = f"generated, {n_positions:,} positions, {files.n_contracts} contracts"
            results["book_10hz"] = book
    return results
