"""Whole-process figures, each in a fresh subprocess: first paint and peak memory.

first paint: `symbiosis --replay data/demo.jsonl` runs in a pseudo-terminal
(200x50, TERM=xterm-256color); the clock runs from just before the process is
spawned (so interpreter start and every import count) until the terminal has
received the first frame, recognised by the pane titles in the output.

peak memory: the app runs headless (Textual's test driver) on a generated
book with the 10 Hz feed (two pre-built ticks, cycled) and a few edit keys,
then reports its own `ru_maxrss`.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Text of the first frame: every pane title has to be on the terminal.
FIRST_FRAME_MARKERS = (b"Holdings", b"Hedge overlay", b"Alpha engine", b"Basis ticker")


def _symbiosis_command() -> list[str]:
    script = Path(sys.executable).with_name("symbiosis")
    if script.exists():
        return [str(script)]
    found = shutil.which("symbiosis")
    return [found] if found else [sys.executable, "-c", "from tui.cli import main; main()"]


def _read_until(fd: int, markers: tuple[bytes, ...], deadline: float) -> bool:
    seen = b""
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        seen += chunk
        if all(m in seen for m in markers):
            return True
    return False


def first_paint_once(timeout_s: float = 20.0) -> float | None:
    """Seconds from spawn to the first complete frame on the pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"}
    env.pop("TEXTUAL", None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*_symbiosis_command(), "--replay", str(ROOT / "data" / "demo.jsonl")],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    try:
        painted = _read_until(master, FIRST_FRAME_MARKERS, start + timeout_s)
        elapsed = time.perf_counter() - start
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)
    return elapsed if painted else None


def interpreter_start_s() -> float:
    """Seconds for `python -c pass` here: the floor under any first paint."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def ccxt_on_start_path() -> bool:
    """Whether importing the TUI's start path (cli, app, feed runner) imports ccxt."""
    code = (
        "import sys, tui.cli, tui.app, tui.feed_runner, core.feeds.replay; "
        "print(any(m == 'ccxt' or m.startswith('ccxt.') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip() == "True"


def peak_rss_mb(n_positions: int) -> dict:
    """Peak RSS of a fresh process running the headless app on `n_positions`."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.process", "rss", str(n_positions)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rss_child(n_positions: int) -> None:
    import resource

    from benchmarks.keystroke import run

    # Two ticks cycled: the feed's pre-built market states are not the app's memory.
    run(n_positions, presses=5, ticks_ahead=2)
    # ru_maxrss is in KiB on Linux. VmHWM is the same peak for this process image only
    # (ru_maxrss can carry a larger parent's peak over fork and exec).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    hwm = None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024.0
    except OSError:
        pass
    print(json.dumps({"positions": n_positions, "peak_rss_mb": peak, "vm_hwm_mb": hwm}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "rss":
        _rss_child(int(sys.argv[2]))


def report_table_s(n_positions: int, runs: int = 3) -> dict:
    """Seconds of `symbiosis report` (table, and --json) on a generated book on disk."""
    import statistics
    import tempfile

    from benchmarks.book_files import write_book

    with tempfile.TemporaryDirectory() as folder:
        files = write_book(Path(folder), n_positions, max(2, n_positions // 5), 1.0, 0.0)
        base = [*_symbiosis_command(), "report", "--config", str(files.config)]
        base += ["--replay", str(files.replay)]

        def once(extra: list[str]) -> float:
            start = time.perf_counter()
            subprocess.run(
                base + extra,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=True,
            )
            return time.perf_counter() - start

        table = [once([]) for _ in range(runs)]
        as_json = [once(["--json"]) for _ in range(runs)]
    return {
        "positions": n_positions,
        "table_s": statistics.median(table),
        "json_s": statistics.median(as_json),
        "runs": runs,
        "measured": "wall time of the `symbiosis report` process, output to a pipe",
    }
