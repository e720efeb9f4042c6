"""The tick coalescer on a hand-driven clock and timer queue (no event loop)."""

from __future__ import annotations

from tui.ticks import TickCoalescer


class FakeTimers:
    """set_timer's contract: call back after a delay unless stopped."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[list] = []  # [due, callback, stopped]

    def schedule(self, delay, callback):
        entry = [self.now + delay, callback, False]
        self.timers.append(entry)

        class Handle:
            def stop(self_inner) -> None:
                entry[2] = True

        return Handle()

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [t for t in self.timers if not t[2] and t[0] <= end]
            if not due:
                break
            first = min(due, key=lambda t: t[0])
            first[2] = True
            self.now = first[0]
            first[1]()
        self.now = end


def make(window=0.25, bound=0.5):
    timers = FakeTimers()
    applied: list[int] = []
    coalescer = TickCoalescer(
        timers.schedule, applied.append, window, bound, clock=lambda: timers.now
    )
    return timers, applied, coalescer


def test_a_burst_of_ticks_is_applied_once_with_the_latest():
    timers, applied, coalescer = make()
    for tick in range(50):
        coalescer.offer(tick)
    timers.advance(0.24)
    assert applied == []
    timers.advance(0.02)
    assert applied == [49]
    assert coalescer.pending is None


def test_ticks_after_a_window_start_a_new_window():
    timers, applied, coalescer = make()
    coalescer.offer(1)
    timers.advance(0.3)
    coalescer.offer(2)
    coalescer.offer(3)
    timers.advance(0.3)
    assert applied == [1, 3]


def test_a_keystroke_postpones_a_tick_by_one_window():
    timers, applied, coalescer = make()
    coalescer.offer(1)
    timers.advance(0.2)
    coalescer.postpone()  # 0.2 s waited: one more window, due at 0.45
    timers.advance(0.2)
    assert applied == []
    timers.advance(0.06)
    assert applied == [1]


def test_keystrokes_never_hold_a_tick_longer_than_the_bound():
    timers, applied, coalescer = make()
    coalescer.offer(1)
    # A key every 0.1 s: postponed at 0.1, 0.2, 0.3, 0.4 (each < 0.5 s waited), then
    # the key at 0.5 no longer postpones and the tick lands at 0.4 + 0.25 = 0.65.
    for _ in range(10):
        timers.advance(0.1)
        coalescer.postpone()
    assert applied == [1]


def test_postpone_without_a_waiting_tick_does_nothing():
    timers, applied, coalescer = make()
    coalescer.postpone()
    timers.advance(1.0)
    assert applied == [] and timers.timers == []
