"""Headless paths stay light: `core` and `symbiosis report --json` load neither Textual nor ccxt.

Each check runs in a fresh interpreter, so nothing this test process imported counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
HEAVY = ("textual", "ccxt")
# Prints, as JSON on stderr, the heavy packages that are loaded once the code above ran.
REPORT_LOADED = (
    "import json, sys\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'ccxt'})),"
    " file=sys.stderr)\n"
)


def core_modules() -> list[str]:
    """Every module of core/, by its dotted name (read from the files, not by importing)."""
    names = []
    for path in sorted((PROJECT / "core").rglob("*.py")):
        parts = path.relative_to(PROJECT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def heavy_modules_after(code: str, *, env: dict[str, str] | None = None) -> tuple[list, str]:
    done = subprocess.run(
        [sys.executable, "-c", code + REPORT_LOADED],
        cwd=PROJECT,
        env={**os.environ, "SYMBIOSIS_OFFLINE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


def test_importing_every_core_module_loads_neither_textual_nor_ccxt():
    modules = core_modules()
    assert {"core", "core.engine", "core.config", "core.feeds.ccxt_feed"} <= set(modules)
    code = "".join(f"import {name}\n" for name in modules)
    assert heavy_modules_after(code) == ([], "")


def test_json_report_loads_neither_textual_nor_ccxt():
    # Through the console script's own function, on the replay and on the live-first
    # config that falls back offline (SYMBIOSIS_OFFLINE=1) before any network call.
    for args in (["--replay", "data/demo.jsonl"], []):
        code = f"from tui.cli import main\nassert main(['report', '--json', *{args!r}]) == 0\n"
        loaded, out = heavy_modules_after(code)
        assert loaded == [], args
        assert json.loads(out)["positions"], args


def test_the_check_sees_textual_when_the_app_is_imported():
    # The same probe reports Textual for the TUI module, so an empty answer above means something.
    loaded, _ = heavy_modules_after("import tui.app\n")
    assert loaded == ["textual"]


def polars_threads_after(code: str, env: dict[str, str]) -> int:
    base = {k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", code + "import polars\nprint(polars.thread_pool_size())\n"],
        cwd=PROJECT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def test_the_engine_and_the_app_run_polars_on_one_thread_unless_told_otherwise():
    # Importing core (the engine, the app, the command line) sets a one-thread pool;
    # a POLARS_MAX_THREADS given by the user is kept. Without core, polars' own
    # default is the machine's core count (2 here), so the check can tell.
    assert polars_threads_after("", {}) == os.cpu_count()
    assert polars_threads_after("import core.engine\n", {}) == 1
    assert polars_threads_after("import tui.cli\n", {}) == 1
    assert polars_threads_after("import core.engine\n", {"POLARS_MAX_THREADS": "3"}) == 3
