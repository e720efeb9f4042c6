"""The frame shared by the risk tools' screens: a title, a hint line, esc to go back."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen

CSS_FILE = str(Path(__file__).with_name("risk.tcss"))


class RiskScreen(Screen[None]):
    CSS_PATH = CSS_FILE
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]
