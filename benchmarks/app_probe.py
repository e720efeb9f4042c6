"""`python -m benchmarks.app_probe TICK_LOG [symbiosis arguments]`: the real app, which
also writes when each feed tick was applied to TICK_LOG (never to the terminal).

One line per applied tick: the `time.perf_counter()` (CLOCK_MONOTONIC, the same
clock in every process) when the tick's recompute began and when the frame that
shows it had been refreshed. The benchmark reads it to tell which keys landed
during a tick.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

# What the app calls to apply a (coalesced) feed tick, newest name first.
TICK_METHODS = ("_apply_market", "_apply_pending_market")


def _log_ticks(path: str) -> None:
    from tui.app import SymbiosisApp

    name = next((n for n in TICK_METHODS if hasattr(SymbiosisApp, n)), None)
    if name is None:  # the app changed shape: run it untouched, the log stays empty
        return
    apply = getattr(SymbiosisApp, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)

    def timed(self: Any, *args: Any) -> None:
        start = time.perf_counter()
        apply(self, *args)

        def refreshed() -> None:
            os.write(fd, f"{start:.6f} {time.perf_counter():.6f}\n".encode())

        self.call_after_refresh(refreshed)

    # Patched on the class before the app exists, so the app's tick coalescer binds it.
    setattr(SymbiosisApp, name, timed)


def main(argv: list[str]) -> int:
    _log_ticks(argv[0])
    from tui.cli import main as symbiosis

    return symbiosis(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
