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
from tui.text import escape

# Markup tags of the chunks ([b], [/], [$warning], [dim], [reverse]); text never has a
# literal "[" because notes are escaped.
_MARKUP_TAG = re.compile(r"(?<!\\)\[[^\[\]]*\]")

# Marks a chunk that gives way when its line is full (three-line bar).
OPTIONAL = "\x00"
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


# Where book_chunks leaves room for the feed's items (the feed changes on its own clock).
FEED_SLOT = "\x01feed"
FEED_NOTE_SLOT = "\x01feed-note"


def summary_chunks(report: Report, saved: Report | None, feed: FeedView, dirty: int) -> list[str]:
    """The bar's items as Textual markup (theme variables, no fixed colours)."""
    return with_feed(book_chunks(report, saved, dirty), feed)


def with_feed(chunks: list[str], feed: FeedView) -> list[str]:
    """The book's chunks with the feed's items in their slots."""
    feed_var = FEED_VAR.get(feed.status, "$warning")
    filled = []
    for chunk in chunks:
        if chunk == FEED_SLOT:
            filled.append(
                f"[b]Feed[/] [{feed_var}]{feed.status.upper()}[/] {feed.clock_text} "
                f"age {fmt.age(feed.age_ms)}"
            )
        elif chunk == FEED_NOTE_SLOT:
            if feed.note:
                filled.append(OPTIONAL + f"[$warning]{feed.note}[/]")
        else:
            filled.append(chunk)
    return filled


def book_chunks(report: Report, saved: Report | None, dirty: int) -> list[str]:
    """The bar's items that the report, the saved book and the draft decide, with
    FEED_SLOT and FEED_NOTE_SLOT where the feed's go."""
    t = report.totals
    s = saved.totals if saved else None
    health = HEALTH_VAR.get(t.health, "$error")
    # Three lines at 120 columns: the book, its risk, then the scenario and the feed.
    # Optional chunks give way when a line is full (their figures are elsewhere too).
    chunks = [
        f"[b]Equity[/] {fmt.usd(t.equity)}{_delta(t.equity, s.equity if s else None)}",
        f"[b]Net[/] {fmt.usd(t.net_exposure_usd, signed=True)} "
        f"({fmt.pct(t.net_exposure_pct, 1)})"
        f"{_delta(t.net_exposure_usd, s.net_exposure_usd if s else None)}",
        f"[b]β-wtd[/] {fmt.usd(t.beta_weighted_exposure_usd, signed=True)}"
        f"{_delta(t.beta_weighted_exposure_usd, s.beta_weighted_exposure_usd if s else None)}",
        f"[b]Gross[/] {fmt.usd(t.gross_exposure_usd)}"
        f"{_delta(t.gross_exposure_usd, s.gross_exposure_usd if s else None)}",
        f"[b]uPnL[/] {fmt.usd(t.unrealized_pnl_usd, signed=True)}",
        OPTIONAL + f"[b]Fund[/] {fmt.usd_cents(t.funding_usd_per_period, signed=True)} $/8h",
        "\n",
        f"[b]Margin[/] [{health}]{fmt.ratio_pct(t.margin_ratio)} {t.health.upper()}[/]"
        f"{_delta(t.margin_ratio, s.margin_ratio if s else None, ratio=True)}",
    ]
    if len(report.accounts) > 1:
        # Each venue's cross account stands alone: one venue's wallet never saves another's.
        for account in report.accounts:
            chunks.append(
                f"[b]{escape(account.venue)}[/] [{HEALTH_VAR.get(account.health, '$error')}]"
                f"{fmt.ratio_pct(account.cross_margin_ratio)} {account.health}[/]"
            )
    chunks += nearest_liquidation(report)
    for name, a in report.allocation.items():
        mark = "[$success]✓[/]" if a.in_band else "[$warning]✗[/]"
        # The hedge bucket is a share of the core book, the others of equity.
        of = " of core" if name == "hedge" else ""
        chunks.append(
            f"[b]{name}[/] {band_pct(a.pct, a.band)}{of} [dim]{a.band[0]:g}–{a.band[1]:g}[/]{mark}"
        )
    chunks.append("\n")
    sc = report.scenario
    if sc.shock_pct:
        liq = f" [$error]✗ {len(sc.liquidated)} liq.[/]" if sc.liquidated else ""
        chunks.append(
            f"[b]Shock[/] [reverse]{sc.shock_pct:+g}%[/] PnL {fmt.usd(sc.pnl_usd, signed=True)} "
            f"→ equity {fmt.usd(sc.equity)} mr {fmt.ratio_pct(sc.margin_ratio)}{liq}"
        )
    else:
        chunks.append("[b]Shock[/] 0%")
    if dirty:
        chunks.append(f"[$warning]● draft: {dirty} change{'s' if dirty != 1 else ''}[/]")
    chunks.append(FEED_SLOT)
    chunks += shock_to_liquidation(report)
    chunks.append(FEED_NOTE_SLOT)
    if report.warnings:
        count = len(report.warnings)
        chunks.append(OPTIONAL + f"[$warning]⚠ {count} note{'s' if count != 1 else ''} (w)[/]")
    return chunks


def band_pct(pct: float | None, band: tuple[float, float]) -> str:
    """A share with the digits that decide its ✓/✗: 9.96 % against a floor of 10 reads
    '9.96%', not '10.0%'."""
    if pct is None:
        return fmt.pct(pct)
    digits = 1
    while digits < 4 and any(round(pct, digits) == edge and pct != edge for edge in band):
        digits += 1
    return fmt.pct(pct, digits)


def nearest_liquidation(report: Report) -> list[str]:
    """'Liq. a-eth 49.8%': the position nearest its liquidation price."""
    nearest = report.nearest_liquidation()
    if nearest is None:
        return []
    position_id, dist = nearest
    tone = "$error" if dist < 10 else "$warning" if dist < 25 else "$foreground"
    return [f"[b]Liq.[/] [{tone}]{escape(position_id)} {fmt.pct(dist, 1)}[/]"]


def shock_to_liquidation(report: Report) -> list[str]:
    """'BTC→liq. −41.5% / +99.1%': the smallest BTC fall and rise that liquidate anything."""
    moves = [
        fmt.pct(v, 1, signed=True)
        for v in (report.totals.liquidation_shock_down_pct, report.totals.liquidation_shock_up_pct)
        if v is not None
    ]
    return [OPTIONAL + f"[b]BTC→liq.[/] {' / '.join(moves)}"] if moves else []


def pack_chunks(chunks: list[str], width: int, max_lines: int | None = None) -> list[list[str]]:
    """The chunks of each line, two spaces apart within `width`; '\\n' prefers a break.
    With `max_lines`, chunks that find no room are left out (they are in the notes, w)."""
    lines: list[list[str]] = []
    line: list[str] = []
    used = 0
    for chunk in chunks:
        if max_lines is not None and len(lines) >= max_lines:
            break
        optional = chunk.startswith(OPTIONAL)
        chunk = chunk.removeprefix(OPTIONAL)
        if chunk == "\n":
            if line:
                lines.append(line)
            line, used = [], 0
            continue
        size = cell_length(_MARKUP_TAG.sub("", chunk))
        if line and used + 2 + size > width:
            if optional and max_lines is not None:
                continue  # gives way on a full line
            lines.append(line)
            line, used = [], 0
        used = used + 2 + size if line else size
        line.append(chunk)
    if line and (max_lines is None or len(lines) < max_lines):
        lines.append(line)
    return lines


# At least this wide, the bar keeps to three lines.
THREE_LINES_WIDTH = 118


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
        self._book: tuple[Report, Report | None, int, list[str]] | None = None
        self._parsed: dict[str, Content] = {}  # chunk markup -> its content

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
        # The clock calls every second with the same book: only the feed's items change.
        book = self._book
        if book is None or book[0] is not report or book[1] is not saved or book[2] != dirty:
            book = self._book = (report, saved, dirty, book_chunks(report, saved, dirty))
        max_lines = 3 if width >= THREE_LINES_WIDTH else None
        packed = pack_chunks(with_feed(book[3], feed), width, max_lines)
        lines = ["  ".join(line) for line in packed]
        if self.styles.height is None or self.styles.height.value != len(lines):
            self.styles.height = len(lines)  # relayout only when the line count changes
        for y, markup in enumerate(lines):
            if y < len(self._markup) and self._markup[y] == markup:
                continue
            content = self._content(packed[y])
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

    def _content(self, chunks: list[str]) -> Content:
        """A line's chunks parsed, each once: a tick changes a few figures of a line,
        and the labels and figures that stay are not parsed again."""
        parsed = self._parsed
        if len(parsed) > 512:
            parsed.clear()
        contents = []
        for chunk in chunks:
            content = parsed.get(chunk)
            if content is None:
                content = parsed[chunk] = Content.from_markup(chunk)
            contents.append(content)
        return Content("  ").join(contents)

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)
