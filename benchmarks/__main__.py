"""python -m benchmarks [--quick] [--json] [--only PART ...]: the speed figures we quote."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

SIZES = [1_000, 10_000, 100_000]
REPEATS = {1_000: 200, 10_000: 40, 100_000: 12}
QUICK_REPEATS = {1_000: 30, 10_000: 6, 100_000: 2}
TINY_SIZES = [200]
TINY_REPEATS = {200: 3}
PARTS = ("recompute", "terminal", "wire", "report", "first_paint", "memory")


def _get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value or value[key] is None:
            return None
        value = value[key]
    return value


def _ratio(results: dict[str, Any], op: str, n: str) -> float | None:
    return _get(results, "recompute", "ratio_vs_kernel", op, n)


# (figure, how it is read from the results, limit): a figure at or under its limit passes.
TARGETS: list[tuple[str, Callable[[dict[str, Any]], float | None], float]] = [
    (
        "key to screen p95, 10 Hz feed (ms)",
        lambda r: _get(r, "terminal", "ms", "p95"),
        16.7,
    ),
    (
        "bytes/s vs minimal app, demo at 1 Hz (x)",
        lambda r: _get(r, "wire", "demo_1hz", "bytes_ratio"),
        1.5,
    ),
    (
        "bytes/s vs minimal app, 1,000 at 10 Hz (x)",
        lambda r: _get(r, "wire", "book_10hz", "bytes_ratio"),
        1.5,
    ),
    ("tick at 100,000 vs tight kernel (x)", lambda r: _ratio(r, "tick", "100000"), 3.0),
    (
        "tick p50 at 1,000 (ms)",
        lambda r: _get(r, "recompute", "engine_ms", "tick", "1000", "p50"),
        1.0,
    ),
    ("one-field edit at 10,000 vs tight kernel (x)", lambda r: _ratio(r, "edit", "10000"), 2.0),
    (
        "idle CPU vs minimal app, demo at 1 Hz (x)",
        lambda r: _get(r, "wire", "demo_1hz", "cpu_ratio"),
        1.2,
    ),
    ("symbiosis report (table) at 10,000 (s)", lambda r: _get(r, "report", "table_s"), 2.0),
    ("first paint (s)", lambda r: _get(r, "first_paint_s", "p50"), 0.8),
    ("peak RSS at 10,000 positions (MB)", lambda r: _get(r, "peak_rss_mb", "peak_rss_mb"), 150.0),
]


def run(mode: str, parts: tuple[str, ...], log: Callable[[str], None]) -> dict[str, Any]:
    """Every figure in one dict (the --json document). mode: full, quick or tiny."""
    quick, tiny = mode != "full", mode == "tiny"
    results: dict[str, Any] = {
        "mode": mode,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
        "load_average": list(os.getloadavg()),
    }
    # Subprocess parts first: a parent that has held a 100,000-position book slows
    # every later garbage collection, and a child starts with the parent's peak RSS.
    if "memory" in parts:
        from benchmarks import process

        log("memory: headless app at 10,000 positions in a subprocess ...")
        results["peak_rss_mb"] = process.peak_rss_mb(500 if tiny else 10_000)
    if "first_paint" in parts:
        from benchmarks import process

        log("first paint: symbiosis --replay data/demo.jsonl in a pseudo-terminal ...")
        runs = [process.first_paint_once() for _ in range(1 if tiny else 3 if quick else 7)]
        painted = [r for r in runs if r is not None]
        results["first_paint_s"] = {
            "p50": statistics.median(painted) if painted else None,
            "runs": runs,
            "python_start_s": process.interpreter_start_s(),
            "ccxt_imported_on_start_path": process.ccxt_on_start_path(),
        }
    if "terminal" in parts:
        from benchmarks import terminal

        log("key to screen: the app in a pty, 1,000 positions, replay at 10 Hz ...")
        results["terminal"] = terminal.key_to_screen(
            n_positions=100 if tiny else 1_000,
            n_assets=10 if tiny else 50,
            presses=3 if tiny else 15 if quick else 100,
            settle_s=0.5 if tiny else 2.0,
        )
    if "wire" in parts:
        from benchmarks import terminal

        log("bytes on the wire: demo at 1 Hz, 1,000 positions at 10 Hz, and a minimal app ...")
        results["wire"] = terminal.wire(
            seconds=1.0 if tiny else 3.0 if quick else 15.0,
            warmup=0.5 if tiny else 1.0 if quick else 1.5,
            n_positions=None if tiny else 1_000,
        )
    if "report" in parts:
        from benchmarks import process

        log("symbiosis report at 10,000 positions ...")
        results["report"] = process.report_table_s(300 if tiny else 10_000, 1 if quick else 3)
    if "recompute" in parts:
        from benchmarks import recompute

        log("recompute: edit, shock, tick and cold, engine and tight kernel ...")
        results["recompute"] = recompute.run(
            TINY_SIZES if tiny else SIZES,
            TINY_REPEATS if tiny else QUICK_REPEATS if quick else REPEATS,
        )
    results["targets"] = []
    for label, read, limit in TARGETS:
        value = read(results)
        if value is not None:
            results["targets"].append(
                {"target": label, "limit": limit, "value": value, "pass": value <= limit}
            )
    return results


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _p(stats: dict[str, float] | None) -> str:
    return "—" if not stats else f"{_ms(stats['p50'])} / {_ms(stats['p95'])} (n {stats['n']})"


def table(results: dict[str, Any]) -> str:
    """The figures as plain text tables."""
    load = ", ".join(f"{x:.2f}" for x in results["load_average"])
    lines = [
        f"Symbiosis benchmarks ({results['mode']} run; Python {results['python']}, "
        f"{results['machine']}, load average {load})",
        "",
    ]
    if "recompute" in results:
        r = results["recompute"]
        lines += [
            "compute() against the tight numpy kernel (ms, p50; ratio = engine / kernel)",
            f"{'operation':<10} {'positions':>10} {'engine':>9} {'p95':>9} "
            f"{'kernel':>9} {'p95':>9} {'ratio':>7}",
        ]
        for op, by_n in r["engine_ms"].items():
            for n, engine in by_n.items():
                kernel = r["kernel_ms"][op][n]
                lines.append(
                    f"{op:<10} {int(n):>10,} {_ms(engine['p50']):>9} {_ms(engine['p95']):>9} "
                    f"{_ms(kernel['p50']):>9} {_ms(kernel['p95']):>9} "
                    f"{r['ratio_vs_kernel'][op][n]:>7.2f}"
                )
        lines.append("")
    if "terminal" in results:
        k = results["terminal"]
        share = k["share_during_tick"]
        lines += [
            f"key to screen in a pty ({k['terminal']}), {k['positions']:,} positions, "
            f"{k['contracts']} contracts, replay at {k['feed_hz']:g} Hz; key {k['key']}",
            f"  all keys      p50 / p95: {_p(k['ms'])} ms; shown {k['shown']} of {k['presses']}",
            f"  during a tick p50 / p95: {_p(k['ms_during_tick'])} ms",
            f"  between ticks p50 / p95: {_p(k['ms_between_ticks'])} ms",
            f"  keys that landed during a tick: "
            f"{'—' if share is None else f'{share:.0%}'}; ticks applied "
            f"{k['ticks_applied_per_s']:.1f}/s; tick to frame {_p(k['tick_to_frame_ms'])} ms",
            "",
        ]
    if "wire" in results:
        lines.append("bytes on the wire and CPU, no key pressed (same run, same terminal)")
        for run in results["wire"].values():
            app, minimal = run["app"], run["minimal"]
            cpu = run["cpu_ratio"]
            lines += [
                f"  {run['book']}, feed {run['feed_hz']:g} Hz:",
                f"    app     {app['bytes_per_s'] / 1000:8.1f} KB/s  CPU {app['cpu_pct']:5.1f} %  "
                f"{app['frames_per_s']:4.1f} frames/s  {app['changed_words_per_s']:6.0f} "
                "changed words/s",
                f"    minimal {minimal['bytes_per_s'] / 1000:8.1f} KB/s  CPU "
                f"{minimal['cpu_pct']:5.1f} %  {minimal['frames_per_s']:4.1f} frames/s  "
                f"{minimal['changed_words_per_s']:6.0f} changed words/s "
                f"({minimal['cells']} cells at {minimal['hz']:g} Hz)",
                f"    ratio   bytes {run['bytes_ratio']:.2f}x, CPU "
                f"{'—' if cpu is None else f'{cpu:.2f}x'}",
            ]
        lines.append("")
    if "report" in results:
        rep = results["report"]
        lines += [
            f"symbiosis report at {rep['positions']:,} positions: table {rep['table_s']:.2f} s, "
            f"--json {rep['json_s']:.2f} s (median of {rep['runs']})",
            "",
        ]
    if "first_paint_s" in results:
        f = results["first_paint_s"]
        runs = ", ".join("—" if r is None else f"{r:.3f}" for r in f["runs"])
        lines += [
            f"first paint: {_ms(f['p50'])} s median (runs {runs}); python start alone "
            f"{f['python_start_s']:.3f} s; ccxt on the start path: "
            f"{'yes' if f['ccxt_imported_on_start_path'] else 'no'}",
            "",
        ]
    if "peak_rss_mb" in results:
        m = results["peak_rss_mb"]
        lines += [
            f"peak RSS: {m['peak_rss_mb']:.1f} MB ru_maxrss, "
            f"{m['vm_hwm_mb'] or float('nan'):.1f} MB VmHWM (headless app, "
            f"{m['positions']:,} positions)",
            "",
        ]
    lines.append("targets")
    for t in results["targets"]:
        lines.append(
            f"  {'pass' if t['pass'] else 'MISS'}  {t['target']:<46} "
            f"{t['value']:>9.3f}  (limit {t['limit']:g})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="fewer repeats: under 90 s")
    speed.add_argument(
        "--tiny", action="store_true", help="tiny books, a few repeats: checks the harness"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--only", nargs="+", choices=PARTS, default=list(PARTS), help="run only these parts"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    results = run(mode, tuple(args.only), log)
    results["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(results, indent=2, allow_nan=False, default=str))
    else:
        print(table(results))
        print(f"\n({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
