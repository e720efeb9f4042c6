"""Mutated portfolio.toml, config.toml and replay files through the loaders and `report`.

For every input: no exception but the project's own error types escapes a
loader, `symbiosis report` exits 0 or 2 and never shows a traceback, an exit 2
is one line naming the file, and an accepted input gives finite figures only.
Bounded (a few hundred inputs, each under a few seconds) to run in CI.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import ConfigError, load_config, load_portfolio
from core.feeds.replay_file import ReplayError, fold_replay
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.jsonl"
EXAMPLES = 500
HANG_S = 5.0


def small_replay() -> str:
    """Markets, tiers and the last ticker and funding of each symbol of the demo."""
    events = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        symbol = event.get("symbol") or event["data"].get("symbol", "")
        kept[(event["type"], symbol)] = event
    return "".join(json.dumps(e) + "\n" for e in sorted(kept.values(), key=lambda e: e["ts"]))


SEEDS = {
    "portfolio.toml": (ROOT / "portfolio.toml").read_text(encoding="utf-8"),
    "config.toml": (ROOT / "config.toml")
    .read_text(encoding="utf-8")
    .replace('kind = "ccxt"', 'kind = "replay"')
    .replace('replay = "data/demo.jsonl"', 'replay = "replay.jsonl"'),
    "replay.jsonl": small_replay(),
}

HOSTILE_VALUES = [
    "-1",
    "0",
    "-0.0",
    "1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "9" * 401,
    '"x"',
    "true",
    "[]",
    "{}",
    "NaN",
    "Infinity",
    "1e400",
    "10000000000000000",
    '"BTC/USDT:USDT-999999"',
    '"[red]x[/]"',
    "null",
]
HOSTILE_LINES = [
    "[[hedge]]",
    "[[holdings]]",
    "[x]",
    "[accounts.nowhere]",
    "venue = 'kraken'",
    "a = [[[[[[",
    "x." * 40 + "y = 1",
    "stale_after_s = 1e308",
    "refresh_s = 1e308",
    '{"ts": 1000000000000000, "type": "ticker", "data": {"symbol": "BTC/USDT", "last": 1}}',
    '{"ts": 1800000000000, "type": "ticker", "data": {"symbol": "BTC/USDT", "last": -1}}',
    '{"ts": 1800000000000, "type": "tiers", "symbol": "BTC/USDT:USDT", "data": [1]}',
    '{"ts": 1800000000000, "type": "market", "data": []}',
    "\x00\x00",
]
NUMBER = r"(?<![\w.])-?\d+(\.\d+)?(e[-+]?\d+)?(?![\w.])"


@st.composite
def mutated_text(draw: st.DrawFn, seed: str) -> bytes:
    import re

    text = seed
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines()
        kind = draw(
            st.sampled_from(["value", "delete", "duplicate", "insert", "cut", "byte", "swap"])
        )
        if kind == "value" and re.search(NUMBER, text):
            spots = [m.span() for m in re.finditer(NUMBER, text)]
            start, end = draw(st.sampled_from(spots))
            text = text[:start] + draw(st.sampled_from(HOSTILE_VALUES)) + text[end:]
        elif kind == "delete" and lines:
            lines.pop(draw(st.integers(0, len(lines) - 1)))
            text = "\n".join(lines) + "\n"
        elif kind == "duplicate" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "\n".join(lines) + "\n"
        elif kind == "insert":
            i = draw(st.integers(0, len(lines)))
            lines.insert(i, draw(st.sampled_from(HOSTILE_LINES)))
            text = "\n".join(lines) + "\n"
        elif kind == "cut" and text:
            text = text[: draw(st.integers(0, len(text) - 1))]
        elif kind == "swap" and len(lines) > 1:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines) + "\n"
    raw = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        raw = text.encode("utf-16")
    elif draw(st.integers(0, 9)) == 0 and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = (
            raw[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"]))
            + raw[at:]
        )
    return raw


def all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(all_finite(v) for v in value)
    return True


COUNTS: Counter[str] = Counter()


def check_one(folder: Path, target: str) -> None:
    """Load the files and run the report; count the outcome, fail on a bad one."""
    path = folder / target
    loader = {"portfolio.toml": load_portfolio, "config.toml": load_config}.get(target, fold_replay)
    try:
        loader(path)
        COUNTS["loader accepted"] += 1
    except (ConfigError, ReplayError) as exc:
        assert str(exc).startswith(str(path.resolve()) if target == "config.toml" else str(path))
        assert "\n" not in str(exc)
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["report", "--json", "--config", str(folder / "config.toml")])
    took = time.perf_counter() - started
    COUNTS["inputs"] += 1
    if took > HANG_S:
        COUNTS["hangs"] += 1
    assert took <= HANG_S, f"report took {took:.1f} s"
    assert "Traceback" not in err.getvalue()
    if code == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("symbiosis: "), err.getvalue()
        assert str(folder) in lines[0], lines[0]  # names the file
        COUNTS["handled clearly"] += 1
        return
    assert code == 0, (code, err.getvalue())
    report = json.loads(out.getvalue())
    if not all_finite(report):
        COUNTS["nonsense accepted"] += 1
    assert all_finite(report), "accepted input gave a figure that is not finite"
    # The table for people must print too (user and data text are not markup).
    table, table_err = io.StringIO(), io.StringIO()
    with redirect_stdout(table), redirect_stderr(table_err):
        assert main(["report", "--config", str(folder / "config.toml")]) == 0
    assert "Traceback" not in table_err.getvalue()
    COUNTS["accepted, finite figures"] += 1


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_files_are_refused_clearly_or_give_finite_figures(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    target = data.draw(st.sampled_from(sorted(SEEDS)))
    for name, seed in SEEDS.items():
        raw = data.draw(mutated_text(seed)) if name == target else seed.encode("utf-8")
        (folder / name).write_bytes(raw)
    try:
        check_one(folder, target)
    except BaseException:
        COUNTS["tracebacks"] += 1
        raise


def test_zz_fuzz_counts_are_reported():
    # Runs after the fuzz (file order); its figures appear with `pytest -s`.
    if not COUNTS["inputs"]:
        return
    print("\nfuzz:", dict(COUNTS))
    assert COUNTS["tracebacks"] == COUNTS["hangs"] == COUNTS["nonsense accepted"] == 0
    assert COUNTS["handled clearly"] + COUNTS["accepted, finite figures"] == COUNTS["inputs"]
