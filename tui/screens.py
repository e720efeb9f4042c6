"""Modal screens: help, quit with unsaved edits, save conflict."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.widgets.risk_tools import HELP_ROWS as RISK_HELP_ROWS

HELP_SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Panes",
        (
            ("1 2 3 4", "focus Holdings / Hedges / Alpha / Basis"),
            ("tab  shift+tab", "next / previous pane"),
            ("↑↓←→  h j k l", "move the cell cursor"),
            ("g G  home end", "first / last row"),
            ("pgup pgdn  ctrl+u ctrl+d", "page up / down"),
        ),
    ),
    (
        "What-if edits (go to a draft until saved)",
        (
            ("enter", "edit the cell (side and mode toggle); esc cancels"),
            ("", "numbers: 0.25  1,500  +20%  -10%  x1.2 (relative)"),
            ("a", "add a holding / position in the focused pane"),
            ("d", "delete the row under the cursor"),
            ("m", "move a position between hedge overlay and alpha engine"),
            ("c", "edit the cross-margin wallet (collateral_usd)"),
            ("u  ctrl+r", "undo / redo"),
            ("ctrl+s", "save portfolio.toml (atomic, keeps .bak)"),
            ("ctrl+o", "reload portfolio.toml from disk"),
        ),
    ),
    (
        "Market shock (BTC moves by s, others by beta × s)",
        (
            ("[  ]", "shock −1% / +1%"),
            ("{  }", "shock −5% / +5%"),
            ("0", "reset the shock"),
        ),
    ),
    ("Risk tools", RISK_HELP_ROWS),
    (
        "App",
        (
            ("i", "every figure of the position under the cursor"),
            ("s", "sort positions by the cursor's column (again: reverse)"),
            ("w", "notes on the figures (assumed betas, default rates, missing prices)"),
            ("t", "next theme (dark / light / colour-blind)"),
            ("ctrl+p", "command palette"),
            ("?", "this help"),
            ("q  ctrl+q", "quit (asks when edits are unsaved)"),
        ),
    ),
    (
        "Reading the screen",
        (
            ("● draft", "figures in (…) are the change against the saved book"),
            ("yellow rows", "edited in the draft, not saved"),
            ("red rows", "liquidated under the current shock"),
            ("dim / !", "stale price (feed late or offline)"),
            ("β 1.00?", "beta not in config.toml: assumed 1"),
        ),
    ),
)


def help_markup() -> str:
    lines = ["[b]Symbiosis — keys[/]", ""]
    for title, rows in HELP_SECTIONS:
        lines.append(f"[b $accent]{title}[/]")
        for keys, text in rows:
            lines.append(f"  [b]{keys:<24}[/] {text}")
        lines.append("")
    lines.append("[dim]esc or ? closes this help[/]")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_markup(), id="help-text")


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
        options = "   ".join(f"[b]{k}[/] {label}" for k, label in self.choices.items())
        with VerticalScroll(id="choice-body"):
            yield Static(f"[b]{self.title_text}[/]\n\n{self.body}\n\n{options}   [b]esc[/] cancel")

    def action_choose(self, key: str) -> None:
        self.dismiss(key)


class TextScreen(ModalScreen[None]):
    """A read-only page of markup (notes, position details); esc closes it."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(self.markup + "\n\n[dim]esc closes[/]", id="text-body")
