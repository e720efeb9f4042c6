"""BookTable: a Line-API table that formats only the rows on screen, and
repaints only the lines whose text or style changed.

Textual's DataTable repaints every visible cell on any update and re-adds
rows on change; a book of 1,000+ positions needs a table that asks its row
source for the visible rows only, at paint time. A feed tick moves a few
figures: the table compares each line it would paint with the one it painted
there last and refreshes only the lines that differ (up to their last changed
cell), so an unchanged line is never sent to the terminal again.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Protocol, Self

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.columns import Column, Row, Tone, fitting_columns


class RowSource(Protocol):
    """What a table shows: row keys and their values, read on demand."""

    def __len__(self) -> int: ...

    def key(self, index: int) -> str: ...

    def row(self, index: int) -> Row:
        """The values row `index` is formatted from (each Column formats its cell)."""
        ...

    def row_tone(self, index: int) -> Tone: ...


class EmptySource:
    def __len__(self) -> int:
        return 0

    def key(self, index: int) -> str:
        raise IndexError(index)

    def row(self, index: int) -> Row:
        raise IndexError(index)

    def row_tone(self, index: int) -> Tone:
        return ""


class BookTable(ScrollView, can_focus=True):
    """Keyboard-driven table over a RowSource with a sticky header and a cell cursor.

    The table never changes the book: Enter, a, d, m, i and s post intent
    messages that its pane or screen acts on.
    """

    COMPONENT_CLASSES = {
        "book-table--header",
        "book-table--cursor",
        "book-table--cursor-row",
        "book-table--positive",
        "book-table--negative",
        "book-table--muted",
        "book-table--stale",
        "book-table--alert",
        "book-table--edited",
        "book-table--empty",
    }

    BINDINGS = [
        Binding("down,j", "cursor(1, 0)", "Down", show=False, id="pane.down"),
        Binding("up,k", "cursor(-1, 0)", "Up", show=False, id="pane.up"),
        Binding("right,l", "cursor(0, 1)", "Right", show=False, id="pane.right"),
        Binding("left,h", "cursor(0, -1)", "Left", show=False, id="pane.left"),
        Binding("pagedown,ctrl+d", "page(1)", "Page down", show=False, id="pane.page-down"),
        Binding("pageup,ctrl+u", "page(-1)", "Page up", show=False, id="pane.page-up"),
        Binding("home,g", "jump(0)", "First row", show=False, id="pane.first-row"),
        Binding("end,G", "jump(-1)", "Last row", show=False, id="pane.last-row"),
        Binding(
            "enter",
            "activate",
            "Edit",
            id="edit.cell",
            tooltip="edit the cell (side and mode toggle)",
        ),
        Binding(
            "s",
            "sort",
            "Sort",
            id="pane.sort",
            tooltip="sort by the cursor's column (again: reverse)",
        ),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)
    cursor_col: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Intent(Message):
        """Something the user asked of a row; the table's pane or screen decides."""

        def __init__(self, table: BookTable, row_key: str | None) -> None:
            super().__init__()
            self.table = table
            self.row_key = row_key

    class EditRequested(Intent):
        """Enter on a cell."""

        def __init__(self, table: BookTable, row_key: str | None, column: Column) -> None:
            super().__init__(table, row_key)
            self.column = column

    class AddRequested(Intent):
        """a: a new row in this table's book."""

    class DeleteRequested(Intent):
        """d: delete the row under the cursor."""

    class MoveRequested(Intent):
        """m: move the position to the other futures book."""

    class DetailsRequested(Intent):
        """i: every figure of the row under the cursor."""

    class SortRequested(Intent):
        """s: order by the cursor's column."""

        def __init__(self, table: BookTable, row_key: str | None, column: Column) -> None:
            super().__init__(table, row_key)
            self.column = column

    def __init__(
        self,
        columns: Sequence[Column],
        empty_text: str = "nothing here",
        *,
        book: str = "",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        # Before the widget's own set-up, which may already ask for a refresh.
        self._cache: dict[int, Strip] = {}
        self._header: Strip | None = None
        self._fillers: dict[bool, Strip] = {}  # lines under the rows, by "the table is empty"
        # Styles until the styles change: "base" the table's own, "tone:x" a component's,
        # "layers:x|y" tinted layers blended.
        self._styles: dict[str, Style] = {}
        super().__init__(name=name, id=id, classes=classes)
        self.book = book
        self.all_columns = tuple(columns)
        self.columns: tuple[Column, ...] = self.all_columns
        self.empty_text = empty_text
        self.source: RowSource = EmptySource()
        self.sort: tuple[str, bool] | None = None  # (column key, descending)
        # The strip last rendered at each line of the view (0 is the header): what
        # the terminal shows there, since Textual re-renders a line only through
        # render_line.
        self._painted: dict[int, Strip] = {}
        self._view: tuple[int, int] = (-1, -1)  # (scroll x, width) the strips were cut for
        self._visible: tuple[int, ...] = ()  # the columns the view shows, by position
        self._fit_for: int | None = None
        self._total_width = sum(c.width for c in self.columns) + len(self.columns)
        self._column_x = [
            sum(c.width + 1 for c in self.columns[:i]) for i in range(len(self.columns))
        ]
        self.virtual_size = Size(self._total_width, 1)

    def _set_columns(self, columns: tuple[Column, ...]) -> None:
        current = self.columns[self.cursor_col].key if self.columns else None
        self.columns = columns
        self._total_width = sum(c.width for c in columns) + len(columns)
        self._column_x = [sum(c.width + 1 for c in columns[:i]) for i in range(len(columns))]
        self.virtual_size = Size(self._total_width, len(self.source) + 1)
        self._view = (-1, -1)
        self._cache.clear()
        self._header = None
        keys = [c.key for c in columns]
        if current in keys:
            self.cursor_col = keys.index(current)
        elif self.cursor_col >= len(columns):
            self.cursor_col = len(columns) - 1

    def fit_columns(self, width: int) -> None:
        """Show the columns that fit `width` (the least important go first)."""
        if width == self._fit_for or width <= 0:
            return
        self._fit_for = width
        shown = fitting_columns(self.all_columns, width)
        if shown != self.columns:
            self._set_columns(shown)
            self.repaint_changed()

    @property
    def content_width(self) -> int:
        """Cells the table needs for the columns it shows."""
        return self._total_width

    def on_resize(self) -> None:
        self.fit_columns(self.size.width)

    # -- data -------------------------------------------------------------

    def set_source(self, source: RowSource, changed: AbstractSet[str] | None = None) -> None:
        """Show new rows; only the lines on screen get formatted.

        `changed`: the source has the same rows in the same order and only these
        keys look different, so only their lines are repainted.
        """
        previous, self.source = self.source, source
        if changed is not None and len(previous) == len(source):
            for index in list(self._cache):
                if source.key(index) in changed:
                    del self._cache[index]
        else:
            self._cache.clear()
            self._header = None
            if len(previous) != len(source):
                self.virtual_size = Size(self._total_width, len(source) + 1)
            if len(source) and self.cursor_row >= len(source):
                self.cursor_row = len(source) - 1
        self.repaint_changed()

    @property
    def row_count(self) -> int:
        return len(self.source)

    @property
    def current_key(self) -> str | None:
        if not len(self.source):
            return None
        return self.source.key(min(self.cursor_row, len(self.source) - 1))

    @property
    def current_column(self) -> Column:
        return self.columns[self.cursor_col]

    def move_to_key(self, key: str) -> None:
        for index in range(len(self.source)):
            if self.source.key(index) == key:
                self.cursor_row = index
                return

    def cursor_region(self) -> Region:
        """Screen region of the cell under the cursor."""
        content = self.content_region
        x = sum(c.width + 1 for c in self.columns[: self.cursor_col]) - int(self.scroll_offset.x)
        y = 1 + self.cursor_row - int(self.scroll_offset.y)
        return Region(
            content.x + max(x, 0), content.y + y, self.columns[self.cursor_col].width + 1, 1
        )

    def next_row_region(self) -> Region:
        """Screen region of the first free line under the rows (or the last line)."""
        content = self.content_region
        y = min(1 + len(self.source) - int(self.scroll_offset.y), max(content.height - 1, 1))
        return Region(content.x, content.y + y, content.width, 1)

    # -- cursor -----------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._cache.pop(old, None)
        self._cache.pop(new, None)
        self._scroll_cursor_into_view()
        self.repaint_changed()

    def watch_cursor_col(self, old: int, new: int) -> None:
        self._cache.pop(self.cursor_row, None)
        self._scroll_column_into_view()
        self.repaint_changed()

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, max(len(self.source) - 1, 0)))

    def validate_cursor_col(self, value: int) -> int:
        return max(0, min(value, len(self.columns) - 1))

    def _scroll_cursor_into_view(self) -> None:
        visible = max(self.size.height - 1, 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def _scroll_column_into_view(self) -> None:
        start = sum(c.width + 1 for c in self.columns[: self.cursor_col])
        end = start + self.columns[self.cursor_col].width
        left = int(self.scroll_offset.x)
        if start < left:
            self.scroll_to(x=start, animate=False, immediate=True)
        elif end > left + self.size.width:
            self.scroll_to(x=end - self.size.width, animate=False, immediate=True)

    def action_cursor(self, rows: int, cols: int) -> None:
        if rows:
            self.cursor_row += rows
        if cols:
            self.cursor_col += cols

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * max(self.size.height - 2, 1)

    def action_jump(self, where: int) -> None:
        self.cursor_row = 0 if where == 0 else len(self.source) - 1

    def action_activate(self) -> None:
        self.post_message(self.EditRequested(self, self.current_key, self.current_column))

    def action_sort(self) -> None:
        self.post_message(self.SortRequested(self, self.current_key, self.current_column))

    def action_add(self) -> None:
        self.post_message(self.AddRequested(self, self.current_key))

    def action_delete(self) -> None:
        if self.current_key is not None:
            self.post_message(self.DeleteRequested(self, self.current_key))

    def action_move(self) -> None:
        if self.current_key is not None:
            self.post_message(self.MoveRequested(self, self.current_key))

    def action_details(self) -> None:
        self.post_message(self.DetailsRequested(self, self.current_key))

    # -- painting ---------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_styles()

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        # Textual repaints the whole table after a change of its styles (a theme, a
        # class, an ancestor's colours): the styles and strips made from the old ones go.
        if repaint and not regions:
            self._forget_styles()
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _forget_styles(self) -> None:
        self._styles.clear()
        self._cache.clear()
        self._fillers.clear()
        self._header = None

    def _base_style(self) -> Style:
        style = self._styles.get("base")
        if style is None:
            style = self._styles["base"] = self.rich_style
        return style

    def _style(self, tone: str) -> Style:
        # Kept until the styles change: rich_style and component styles walk every
        # ancestor, and a line asks for them several times.
        key = "tone:" + tone
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self.get_component_rich_style(
                f"book-table--{tone}", partial=True
            )
        return style

    def state_style(self, layers: tuple[str, ...]) -> Style:
        """The table's style under tinted layers (e.g. ("alert", "cursor-row")): each
        layer's translucent background is blended over the one below, as the eye sees
        it; the text takes the top layer's colour that sets one (else the table's)."""
        key = "layers:" + "|".join(layers)
        style = self._styles.get(key)
        if style is not None:
            return style
        _, _, background, color = self.colors
        text = Style()
        for layer in layers:
            if not layer:
                continue
            component = self.get_component_styles(f"book-table--{layer}")
            if component.has_rule("background"):
                background = background + component.background
            if component.has_rule("color"):
                color = component.color
            text = text + self._style(layer)
        style = self._styles[key] = (
            self._base_style()
            + text
            + Style(color=(background + color).rich_color, bgcolor=background.rich_color)
        )
        return style

    def _check_view(self) -> tuple[int, int]:
        """(scroll x, width); strips are cut to the view, so a new view drops them."""
        view = (int(self.scroll_offset.x), self.size.width)
        if view != self._view:
            self._view = view
            left, width = view
            self._visible = tuple(
                i
                for i, (column, start) in enumerate(zip(self.columns, self._column_x, strict=True))
                if start + column.width + 1 > left and start < left + width
            )
            self._cache.clear()
            self._fillers.clear()
            self._header = None
        return view

    def _fit(self, cells: Sequence[tuple[str, Style]]) -> Strip:
        """The view's slice of a row (cells of the visible columns, in order): padded
        cells cut at the view's edges, no wider.

        Every character in a table is one cell wide (digits, letters, −, —, ✗, ▲),
        so slicing text by characters is slicing by cells.
        """
        left, width = self._view
        right = left + width
        # Neighbouring cells of one style make one segment: every segment costs
        # Textual's line pipeline (filters, compositing) its own pass.
        segments = []
        run: list[str] = []
        run_style: Style | None = None
        used = 0
        for (text, style), col in zip(cells, self._visible, strict=True):
            column, start = self.columns[col], self._column_x[col]
            end = start + column.width + 1
            size = column.width
            if len(text) > size:
                text = text[: size - 1] + "…"
            padded = (text.rjust(size) if column.align == "right" else text.ljust(size)) + " "
            if start < left or end > right:
                padded = padded[max(left - start, 0) : min(right, end) - start]
            if style is not run_style and run:
                segments.append(Segment("".join(run), run_style))
                run = []
            run.append(padded)
            run_style = style
            used += len(padded)
        if run:
            segments.append(Segment("".join(run), run_style))
        if used < width:
            segments.append(Segment(" " * (width - used), self._base_style()))
        return Strip(segments, width)

    def _header_strip(self) -> Strip:
        if self._header is None:
            style = self._style("header")
            labels = []
            for col in self._visible:
                column = self.columns[col]
                label = column.label
                if self.sort is not None and self.sort[0] == column.key:
                    label = label + ("▼" if self.sort[1] else "▲")
                labels.append((label, style))
            self._header = self._fit(labels)
        return self._header

    def _row_strip(self, index: int) -> Strip:
        strip = self._cache.get(index)
        if strip is not None:
            return strip
        row_tone = self.source.row_tone(index)
        is_cursor_row = index == self.cursor_row and self.has_focus
        layers = (row_tone, "cursor-row") if is_cursor_row else (row_tone,)
        # A row in a state (edited, liquidated, under the cursor) is one colour on its
        # tint, so that its text keeps its contrast; its marks (● ✗) say the state.
        plain = not is_cursor_row and row_tone in ("", "stale")
        row_style = self.state_style(layers)
        styled = []
        visible = self._visible
        row = self.source.row(index)
        columns = self.columns
        for col in visible:
            cell = columns[col].cell(row)
            style = row_style + self._style(cell.tone) if cell.tone and plain else row_style
            if is_cursor_row and col == self.cursor_col:
                style = self.state_style((row_tone, "cursor"))
            styled.append((cell.text, style))
        strip = self._fit(styled)
        self._cache[index] = strip
        return strip

    def _filler(self, empty: bool) -> Strip:
        """A line under the rows: the empty table's text, or blank."""
        strip = self._fillers.get(empty)
        if strip is None:
            width, base = self.size.width, self._base_style()
            if empty:
                strip = Strip([Segment(" " + self.empty_text, self._style("empty"))])
                strip = strip.crop_extend(0, width, base)
            else:
                strip = Strip.blank(width, base)
            self._fillers[empty] = strip
        return strip

    def _line(self, y: int, top: int) -> Strip:
        """What line `y` of the view shows (0 is the header) with row `top` first;
        call _check_view() first."""
        if y == 0:
            return self._header_strip()
        index = top + y - 1
        if index < len(self.source):
            return self._row_strip(index)
        return self._filler(index == 0)

    def render_line(self, y: int) -> Strip:
        self._check_view()
        strip = self._line(y, int(self.scroll_offset.y))
        self._painted[y] = strip
        return strip

    def repaint_changed(self) -> None:
        """Refresh only the lines of the view whose strip differs from the one painted
        there, each up to its last changed cell (Textual writes a refreshed line from
        the table's left edge to the region's end; the rest of the line stays)."""
        width, height = self.size
        if not self.is_mounted or width <= 0 or height <= 0:
            return
        self._check_view()
        top = int(self.scroll_offset.y)
        painted = self._painted
        changed = []
        for y in range(height):
            strip = self._line(y, top)
            old = painted.get(y)
            if strip is old:
                continue
            end = width if old is None else changed_end(old, strip)
            if end:
                changed.append(Region(0, y, min(end, width), 1))
        if changed:
            self.refresh(*changed)

    def on_focus(self) -> None:
        self._cache.pop(self.cursor_row, None)
        self.repaint_changed()

    def on_blur(self) -> None:
        self._cache.pop(self.cursor_row, None)
        self.repaint_changed()


def changed_end(old: Strip, new: Strip) -> int:
    """Cells from the start of `new` to the end of its last cell that differs from
    `old` (0: the same text in the same styles)."""
    if old.cell_length != new.cell_length:
        return new.cell_length
    a, b = list(old), list(new)
    i, j = len(a) - 1, len(b) - 1
    same = 0
    while i >= 0 and j >= 0 and a[i] == b[j]:
        same += cell_len(a[i].text)
        i -= 1
        j -= 1
    if i < 0 and j < 0:
        return 0
    if i >= 0 and j >= 0 and a[i].style == b[j].style:
        # The differing segments may still end alike ("+1,205" and "+1,305").
        old_text, new_text = a[i].text, b[j].text
        k = 0
        while k < min(len(old_text), len(new_text)) and old_text[-1 - k] == new_text[-1 - k]:
            k += 1
        same += cell_len(new_text[len(new_text) - k :])
    return new.cell_length - same
