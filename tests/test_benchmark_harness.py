"""`python -m benchmarks` runs end to end (tiny books, a few repeats): no timing asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.screen import Screen, changed_words

PROJECT = Path(__file__).resolve().parent.parent


def test_tiny_benchmark_run_measures_every_part_and_prints_its_targets():
    parts = ["recompute", "terminal", "wire", "report"]
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", "--json", "--only", *parts],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    results = json.loads(out.stdout)
    assert results["mode"] == "tiny" and len(results["load_average"]) == 3
    recompute = results["recompute"]
    for op in ("edit", "shock", "tick", "cold"):
        assert recompute["engine_ms"][op]["200"]["p50"] > 0
        assert recompute["kernel_ms"][op]["200"]["p50"] > 0
    keys = results["terminal"]
    # Every shock key reached the screen, and the tick log of the real app was read.
    assert keys["shown"] == keys["presses"] == 3
    assert keys["ms"]["p95"] > 0 and keys["tick_log"] is True
    assert 0.0 <= keys["share_during_tick"] <= 1.0
    for run in results["wire"].values():
        assert run["app"]["bytes_per_s"] > 0 and run["minimal"]["bytes_per_s"] > 0
        assert run["minimal"]["cells"] >= 1
    assert results["report"]["table_s"] > 0
    labels = {t["target"] for t in results["targets"]}
    assert "key to screen p95, 10 Hz feed (ms)" in labels
    assert "one-field edit at 10,000 vs tight kernel (x)" not in labels  # no 10,000 in tiny
    assert all(isinstance(t["pass"], bool) for t in results["targets"])


def test_screen_model_places_text_at_cursor_moves_and_skips_styles():
    screen = Screen(20, 3)
    # Row 2, column 5: "Shock" in bold, then a reversed "+3%"; the CSI is cut in two reads.
    screen.feed(b"\x1b[2;5H\x1b[1mShock\x1b[0m \x1b[")
    screen.feed(b"7m+3%\x1b[0m")
    assert screen.rows[1] == "    Shock +3%       "
    before = screen.words()
    screen.feed("\x1b[2;11H+4%\x1b[1;1H€ 1".encode())
    assert screen.rows[1].strip() == "Shock +4%" and screen.rows[0].startswith("€ 1")
    # Two words are new ("+4%" at its place, "€" and "1" on row 1): three in all.
    assert changed_words(before, screen.words()) == 3
