"""python -m benchmarks [--quick] [--json] [--only PART ...]: the speed figures we quote."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from typing import Any

SIZES = [10, 100, 1_000, 10_000, 100_000]
REPEATS = {10: 200, 100: 200, 1_000: 200, 10_000: 50, 100_000: 12}
QUICK_REPEATS = {10: 30, 100: 30, 1_000: 40, 10_000: 10, 100_000: 4}
PARTS = ("recompute", "keystroke", "first_paint", "memory")

# (figure, how it is read from the results, limit): a figure at or under its limit passes.
TARGETS: list[tuple[str, str, float]] = [
    ("recompute p50 at 1,000 positions (ms)", "recompute_1000_p50", 0.5),
    ("ratio_vs_numpy at 100,000 positions", "ratio_100000", 1.5),
    ("keystroke p95 above no-op at 1,000 (ms)", "keystroke_p95_above_noop", 16.7),
    ("first paint (s)", "first_paint_s", 0.8),
    ("peak RSS at 10,000 positions (MB)", "peak_rss_mb", 150.0),
]


def _figure(results: dict[str, Any], name: str) -> float | None:
    try:
        if name == "recompute_1000_p50":
            return results["recompute_ms"]["1000"]["p50"]
        if name == "ratio_100000":
            return results["ratio_vs_numpy"]["100000"]
        if name == "keystroke_p95_above_noop":
            return results["keystroke_ms"]["p95_above_noop"]
        if name == "first_paint_s":
            return results["first_paint_s"]["p50"]
        if name == "peak_rss_mb":
            return results["peak_rss_mb"]["peak_rss_mb"]
    except (KeyError, TypeError):
        return None
    return None


def run(quick: bool, parts: tuple[str, ...], log: Any) -> dict[str, Any]:
    """Every figure in one dict (the --json document)."""
    results: dict[str, Any] = {
        "quick": quick,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
        "load_average_1m": os.getloadavg()[0],
    }
    # Order matters: a subprocess starts with its parent's peak RSS in ru_maxrss, and
    # a parent that has held a 100,000-position book (and the engine's cache of it)
    # slows every later garbage collection. So: memory, first paint, keys, then recompute.
    if "memory" in parts:
        from benchmarks import process

        log("memory: headless app at 10,000 positions in a subprocess ...")
        results["peak_rss_mb"] = process.peak_rss_mb(10_000)
    if "first_paint" in parts:
        from benchmarks import process

        log("first paint: symbiosis --replay data/demo.jsonl in a pseudo-terminal ...")
        runs = [process.first_paint_once() for _ in range(3 if quick else 7)]
        painted = [r for r in runs if r is not None]
        results["first_paint_s"] = {
            "p50": statistics.median(painted) if painted else None,
            "runs": runs,
            "python_start_s": process.interpreter_start_s(),
            "ccxt_imported_on_start_path": process.ccxt_on_start_path(),
            "measured": "spawn of `symbiosis --replay data/demo.jsonl` in a 200x50 pty "
            "until every pane title of the first frame was written to the terminal",
        }
    if "keystroke" in parts:
        from benchmarks import keystroke

        log("keystroke: app at 1,000 positions, 10 Hz feed ...")
        results["keystroke_ms"] = keystroke.run(1_000, presses=25 if quick else 100)
    if "recompute" in parts:
        from benchmarks import recompute

        log("recompute: compute() after a one-field edit, and the numpy reference ...")
        results.update(recompute.run(SIZES, QUICK_REPEATS if quick else REPEATS))
    results["targets"] = [
        {
            "target": label,
            "limit": limit,
            "value": (value := _figure(results, key)),
            "pass": value is not None and value <= limit,
        }
        for label, key, limit in TARGETS
        if _figure(results, key) is not None
    ]
    return results


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def table(results: dict[str, Any]) -> str:
    """The figures as plain text tables."""
    lines = [
        f"Symbiosis benchmarks ({'quick' if results['quick'] else 'full'} run; "
        f"Python {results['python']}, {results['machine']}, "
        f"load {results['load_average_1m']:.2f})",
        "",
    ]
    if "recompute_ms" in results:
        lines += [
            "compute() after a one-field edit (ms)",
            f"{'positions':>10} {'p50':>9} {'p95':>9} {'numpy p50':>10} {'numpy p95':>10} "
            f"{'ratio':>7} {'runs':>5} {'max rel diff':>13}",
        ]
        for n, engine in results["recompute_ms"].items():
            ref = results["numpy_reference_ms"][n]
            diff = results["reference_max_rel_diff"][n]
            lines.append(
                f"{int(n):>10,} {_ms(engine['p50']):>9} {_ms(engine['p95']):>9} "
                f"{_ms(ref['p50']):>10} {_ms(ref['p95']):>10} "
                f"{results['ratio_vs_numpy'][n]:>7.2f} {engine['n']:>5} "
                f"{'mismatch' if math.isinf(diff) else f'{diff:.1e}':>13}"
            )
        lines.append("")
    if "keystroke_ms" in results:
        k = results["keystroke_ms"]
        lines += [
            f"key to end of next refresh, {k['positions']:,} positions, 10 Hz feed, "
            f"terminal {k['terminal']} (ms; app clock)",
            f"{'key':<28} {'p50':>8} {'p95':>8} {'n':>4}   {'from key created p50/p95':>24}",
        ]
        for kind, label in (("edit", k["edit_key"]), ("noop", f"no-op ({k['noop_key']})")):
            q = k["from_event_created"][kind]
            lines.append(
                f"{label:<28} {_ms(k[kind]['p50']):>8} {_ms(k[kind]['p95']):>8} "
                f"{k[kind]['n']:>4}   {_ms(q['p50']):>11} / {_ms(q['p95']):<10}"
            )
        lines += [
            f"edit p95 above no-op p95: {_ms(k['p95_above_noop'])} ms; "
            f"feed ticks applied {k['feed_ticks_applied']} ({k['feed_ticks_per_s']:.1f}/s)",
            "",
        ]
    if "first_paint_s" in results:
        f = results["first_paint_s"]
        runs = ", ".join("—" if r is None else f"{r:.3f}" for r in f["runs"])
        p50 = "—" if f["p50"] is None else f"{f['p50']:.3f}"
        lines += [
            f"first paint: {p50} s median (runs {runs}); python start alone "
            f"{f['python_start_s']:.3f} s; ccxt on the start path: "
            f"{'yes' if f['ccxt_imported_on_start_path'] else 'no'}",
            f"  ({f['measured']})",
            "",
        ]
    if "peak_rss_mb" in results:
        m = results["peak_rss_mb"]
        lines += [
            f"peak RSS: {m['peak_rss_mb']:.1f} MB ru_maxrss, "
            f"{m['vm_hwm_mb'] or float('nan'):.1f} MB VmHWM (headless app, "
            f"{m['positions']:,} positions, feed and edit keys)",
            "",
        ]
    lines.append("targets")
    for t in results["targets"]:
        lines.append(
            f"  {'pass' if t['pass'] else 'MISS'}  {t['target']:<44} "
            f"{t['value']:>9.3f}  (limit {t['limit']:g})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats: under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--only", nargs="+", choices=PARTS, default=list(PARTS), help="run only these parts"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = run(args.quick, tuple(args.only), log)
    results["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(results, indent=2, allow_nan=False, default=str))
    else:
        print(table(results))
        print(f"\n({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
