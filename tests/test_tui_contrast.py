"""Every state a row can be in reads at WCAG contrast 4.5:1 or more, in every bundled
theme, computed from the colours the table really paints (translucent tints
blended over the table, as tui.widgets.book_table does)."""

from __future__ import annotations

import pytest

from tests.tui_helpers import make_app, make_workspace
from tui.themes import load_themes
from tui.widgets.book_table import BookTable

# Textual's ANSI themes are left out: their colours are the terminal's own palette,
# which only the terminal knows.
THEMES = [theme.name for theme in load_themes()[0]]
# (row state, cursor row?) -> the layers the table paints; the cursor cell adds "cursor".
ROW_STATES = {
    "liquidated": ("alert",),
    "edited": ("edited",),
    "cursor row": ("", "cursor-row"),
    "cursor row, liquidated": ("alert", "cursor-row"),
    "cursor row, edited": ("edited", "cursor-row"),
    "cursor cell": ("", "cursor"),
    "cursor cell, liquidated": ("alert", "cursor"),
    "cursor cell, edited": ("edited", "cursor"),
}


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_on_known_pairs():
    # Black on white is the maximum, 21:1; a colour on itself is 1:1.
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (118, 118, 118)) == pytest.approx(1.0)
    # #767676 on white is the classic AA boundary grey: 4.54:1.
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("theme", THEMES)
async def test_every_row_state_reads_at_4_5_to_1(tmp_path, theme):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = theme
        await pilot.pause()
        table = app.screen.query_one("#alpha-table", BookTable)
        failures = []
        for state, layers in ROW_STATES.items():
            style = table.state_style(layers)
            text = tuple(style.color.get_truecolor())
            background = tuple(style.bgcolor.get_truecolor())
            ratio = contrast(text, background)
            if ratio < 4.5:
                failures.append(f"{state}: {ratio:.2f}:1 ({text} on {background})")
        assert failures == []
        # The states differ from a plain row (a tint you can see), not only by marks.
        plain = table.state_style(("",)).bgcolor
        assert all(table.state_style(layers).bgcolor != plain for layers in ROW_STATES.values())


async def test_state_rows_carry_marks_that_do_not_rely_on_colour(tmp_path):
    app = make_app(make_workspace(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        alpha = app.screen.query_one("#alpha-table", BookTable)
        size = [c.key for c in alpha.columns].index("size")
        await pilot.press("3", *["l"] * size, "enter", *"9", "enter")
        await pilot.pause()
        assert app.draft.current.position("a-eth").size == 9
        first = alpha.columns[0].cell(alpha.source.row(0))
        assert first.text == "● a-eth"
        await pilot.press(*["{"] * 10)  # BTC −50 %: the ETH long is liquidated
        await pilot.pause()
        first = alpha.columns[0].cell(alpha.source.row(0))
        assert first.text == "✗ a-eth"
        assert alpha.source.row_tone(0) == "alert"
