"""Just enough of a terminal to read what a Textual app wrote: text at cursor moves.

Textual draws by moving the cursor (CSI row;col H) and writing styled text; the
styles (SGR) and modes are skipped here. Characters count one column each, which
is all a comparison of two frames of the same app needs.
"""

from __future__ import annotations

import codecs
import re

_TOKEN = re.compile(
    r"\x1b\[([0-9;?<>=!]*)[ -/]*([@-~])"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[P_^][^\x1b]*\x1b\\"  # DCS, APC, PM
    r"|\x1b[()*+][0-9A-Za-z]"  # charset selection
    r"|\x1b[0-9A-Za-z=<>]"  # two-byte escapes
    r"|([^\x1b\r\n\x08\x07]+)"  # text
    r"|(\r)|(\n)|\x08|\x07"
)
# An escape sequence cut off at the end of a read waits for the next one.
_PARTIAL = re.compile(r"\x1b(?:\[[0-9;?<>=!]*[ -/]*|\][^\x07\x1b]*|[P_^][^\x1b]*|[()*+])?$")
_WORD = re.compile(r"\S+")


class Screen:
    """A grid of characters updated from the bytes a program writes to its terminal."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows = [" " * width for _ in range(height)]
        self.x = self.y = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        cut = _PARTIAL.search(text)
        if cut is not None:
            text, self._pending = text[: cut.start()], text[cut.start() :]
        else:
            self._pending = ""
        for match in _TOKEN.finditer(text):
            written, final = match.group(3), match.group(2)
            if written is not None:
                self._write(written)
            elif final == "H" or final == "f":
                params = [int(p) if p.isdigit() else 1 for p in (match.group(1) or "").split(";")]
                row = params[0] if params else 1
                col = params[1] if len(params) > 1 else 1
                self.y = min(max(row - 1, 0), self.height - 1)
                self.x = min(max(col - 1, 0), self.width)
            elif final == "J" and (match.group(1) or "") in ("2", "3"):
                self.rows = [" " * self.width for _ in range(self.height)]
            elif match.group(4) is not None:
                self.x = 0
            elif match.group(5) is not None:
                self.y = min(self.y + 1, self.height - 1)

    def _write(self, text: str) -> None:
        row = self.rows[self.y]
        end = min(self.x + len(text), self.width)
        if end > self.x:
            self.rows[self.y] = row[: self.x] + text[: end - self.x] + row[end:]
        self.x = end

    def text(self) -> str:
        return "\n".join(self.rows)

    def words(self) -> set[tuple[int, int, str]]:
        """Every run of non-blank characters as (row, column, text)."""
        return {
            (y, m.start(), m.group())
            for y, row in enumerate(self.rows)
            for m in _WORD.finditer(row)
        }


def changed_words(before: set[tuple[int, int, str]], after: set[tuple[int, int, str]]) -> int:
    """How many words of `after` were not on screen, at that place, in `before`."""
    return len(after - before)
