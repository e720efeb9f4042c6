"""Summary bar: totals, margin health, allocation, feed state, shock and draft diff."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len as cell_length
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from core.report import Report
from tui import format as fmt

# Markup tags of the chunks ([b], [/], [$warning], [dim], [reverse]); text never has a
# literal "[" because notes are escaped.
_MARKUP_TAG = re.compile(r"(?<!\\)\[[^\[\]]*\]")

HEALTH_VAR = {"ok": "$success", "warn": "$warning", "danger": "$error"}
FEED_VAR = {"live": "$success", "replay": "$accent", "stale": "$warning", "offline": "$error"}


@dataclass(frozen=True)
class FeedView:
    status: str
    age_ms: float | None
    clock_text: str
    note: str


def _delta(now: float | None, saved: float | None, ratio: bool = False) -> str:
    """' (+1,200)' when the draft differs from the saved book."""
    if now is None or saved is None:
        return ""
    diff = now - saved
    if ratio:
        if abs(diff) < 5e-7:
            return ""
        return f" [$warning]({fmt.pct(diff * 100, 2, signed=True)})[/]"
    if abs(diff) < 0.5:
        return ""
    return f" [$warning]({fmt.usd(diff, signed=True)})[/]"


def summary_chunks(report: Report, saved: Report | None, feed: FeedView, dirty: int) -> list[str]:
    """The bar's items as Textual markup (theme variables, no fixed colours)."""
    t = report.totals
    s = saved.totals if saved else None
    health = HEALTH_VAR.get(t.health, "$error")
    chunks = [
        f"[b]Equity[/] {fmt.usd(t.equity)}{_delta(t.equity, s and s.equity)}",
        f"[b]Net[/] {fmt.usd(t.net_exposure_usd, signed=True)} "
        f"({fmt.pct(t.net_exposure_pct, 1)}){_delta(t.net_exposure_usd, s and s.net_exposure_usd)}",
        f"[b]Margin[/] [{health}]{fmt.ratio_pct(t.margin_ratio)} {t.health.upper()}[/]"
        f"{_delta(t.margin_ratio, s and s.margin_ratio, ratio=True)}",
        f"[b]β-wtd[/] {fmt.usd(t.beta_weighted_exposure_usd, signed=True)}"
        f"{_delta(t.beta_weighted_exposure_usd, s and s.beta_weighted_exposure_usd)}",
        f"[b]Gross[/] {fmt.usd(t.gross_exposure_usd)}"
        f"{_delta(t.gross_exposure_usd, s and s.gross_exposure_usd)}",
        "\n",
    ]
    for name, a in report.allocation.items():
        mark = "[$success]✓[/]" if a.in_band else "[$warning]✗[/]"
        chunks.append(f"[b]{name}[/] {fmt.pct(a.pct, 1)} [dim]{a.band[0]:g}–{a.band[1]:g}[/]{mark}")
    chunks.append(f"[b]uPnL[/] {fmt.usd(t.unrealized_pnl_usd, signed=True)}")
    chunks.append(f"[b]Fund[/] {fmt.usd_cents(t.funding_usd_per_period, signed=True)}/8h")
    chunks.append("\n")
    feed_var = FEED_VAR.get(feed.status, "$warning")
    chunks.append(
        f"[b]Feed[/] [{feed_var}]{feed.status.upper()}[/] {feed.clock_text} "
        f"age {fmt.age(feed.age_ms)}"
    )
    sc = report.scenario
    if sc.shock_pct:
        liq = f" [$error]{len(sc.liquidated)} liq.[/]" if sc.liquidated else ""
        chunks.append(
            f"[b]Shock[/] [reverse]{sc.shock_pct:+g}%[/] PnL {fmt.usd(sc.pnl_usd, signed=True)} "
            f"mr {fmt.ratio_pct(sc.margin_ratio)}{liq}"
        )
    else:
        chunks.append("[b]Shock[/] 0%")
    if dirty:
        chunks.append(f"[$warning]● draft: {dirty} change{'s' if dirty != 1 else ''}[/]")
    if feed.note:
        chunks.append(f"[$warning]{feed.note}[/]")
    if report.warnings:
        count = len(report.warnings)
        chunks.append(f"[$warning]⚠ {count} note{'s' if count != 1 else ''} (w)[/]")
    return chunks


def pack_lines(chunks: list[str], width: int) -> str:
    """Join chunks two spaces apart, wrapping at `width`; '\\n' prefers a break."""
    lines: list[str] = []
    line, used = "", 0
    for chunk in chunks:
        if chunk == "\n":
            if line:
                lines.append(line)
            line, used = "", 0
            continue
        size = cell_length(_MARKUP_TAG.sub("", chunk))
        if line and used + 2 + size > width:
            lines.append(line)
            line, used = "", 0
        line, used = (f"{line}  {chunk}", used + 2 + size) if line else (chunk, size)
    if line:
        lines.append(line)
    return "\n".join(lines)


def summary_markup(
    report: Report, saved: Report | None, feed: FeedView, dirty: int, width: int = 200
) -> str:
    return pack_lines(summary_chunks(report, saved, feed, dirty), width)


class SummaryBar(Vertical):
    """Fixed-height bar, one widget per line: a change repaints only the lines it touches.

    A shock step changes one line and the feed's age another; re-parsing and
    repainting the whole bar for either costs a few milliseconds of the keystroke.
    """

    DEFAULT_CSS = """
    SummaryBar > Static {
        height: 1;
    }
    """

    _last: tuple[Report, Report | None, FeedView, int] | None = None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Static] = []
        self._markup: list[str] = []

    def compose(self) -> ComposeResult:
        yield from self._lines

    @property
    def text(self) -> str:
        """The bar as plain text, line by line."""
        return "\n".join(Content.from_markup(line).plain for line in self._markup)

    def show(self, report: Report, saved: Report | None, feed: FeedView, dirty: int) -> None:
        self._last = (report, saved, feed, dirty)
        # Before the first layout the widget has no size yet: use the screen's width.
        width = max(self.content_size.width or (self.app.size.width - 2), 40)
        lines = summary_markup(report, saved, feed, dirty, width).split("\n")
        if self.styles.height is None or self.styles.height.value != len(lines):
            self.styles.height = len(lines)  # relayout only when the line count changes
        for y, markup in enumerate(lines):
            if y < len(self._markup) and self._markup[y] == markup:
                continue
            content = Content.from_markup(markup)
            if y < len(self._lines):
                self._lines[y].update(content, layout=False)
                self._lines[y].display = True
            else:
                line = Static(content)
                self._lines.append(line)
                if self.is_mounted:
                    self.mount(line)
        for line in self._lines[len(lines) :]:
            line.display = False
        self._markup = lines

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)
