"""Modal screens: help (made from the key bindings), a one-key choice, a page of text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.bindings import help_rows
from tui.text import escape

KEYS_WIDTH = 14
# What the screen's colours and marks mean (not keys: written here once).
LEGEND: tuple[tuple[str, str], ...] = (
    ("● id", "edited in the draft, not saved (tinted row)"),
    ("✗ id", "liquidated under the current shock (red row)"),
    ("(…)", "in the summary: the change against the saved book"),
    ("dim / !", "stale price (feed late or offline)"),
    ("β 1.00?", "beta not in config.toml: assumed 1"),
    ("numbers", "0.25  1,500  +20%  -10%  x1.2 (relative)"),
    ("tab", "next pane (shift+tab: previous)"),
    ("ctrl+p", "command palette"),
)


def help_markup(groups: Iterable[Sequence[Binding]], keymap: Mapping[str, str]) -> str:
    """The help page: every binding by section (with the user's keys), then the legend."""
    lines = ["[b]Symbiosis — keys[/]", ""]
    sections = {**help_rows(groups, keymap), "Reading the screen": None}
    for title, rows in sections.items():
        pairs = LEGEND if rows is None else [(r.keys, r.text) for r in rows]
        if not pairs:
            continue
        lines.append(f"[b $accent]{escape(title)}[/]")
        for keys, text in pairs:
            lines.append(f"  [b]{escape(keys):<{KEYS_WIDTH}}[/] {escape(text)}")
        lines.append("")
    lines.append("[dim]esc or ? closes this help[/]")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Static(self.markup, id="help-text")


class ChoiceScreen(ModalScreen[str]):
    """A question answered by one key; dismisses with the chosen key ('' = cancel)."""

    BINDINGS = [Binding("escape", "choose('')", "Cancel")]

    def __init__(self, title: str, body: str, choices: dict[str, str]) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.choices = choices
        for key in choices:
            self._bindings.bind(key, f"choose('{key}')", choices[key])

    def compose(self) -> ComposeResult:
        options = "   ".join(f"[b]{k}[/] {escape(label)}" for k, label in self.choices.items())
        with VerticalScroll(id="choice-body", classes="dialog"):
            yield Static(
                f"[b]{escape(self.title_text)}[/]\n\n{self.body}\n\n{options}   [b]esc[/] cancel"
            )

    def action_choose(self, key: str) -> None:
        self.dismiss(key)


class TextScreen(ModalScreen[None]):
    """A read-only page of markup (notes, position details); esc closes it."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="text-page", classes="dialog"):
            yield Static(self.markup + "\n\n[dim]esc closes[/]", id="text-body")
