"""Load theme files (themes/*.toml) into Textual Theme objects."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.theme import Theme

from core.locations import bundled_path

THEMES_DIR = bundled_path("themes")
THEME_KEYS = (
    "name primary secondary warning error success accent foreground background "
    "surface panel boost dark luminosity_spread text_alpha variables"
).split()
# Textual's themes in the terminal's own 16 colours (they follow its palette).
ANSI_THEMES = ("ansi-dark", "ansi-light")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and key."""


def load_theme(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: {exc}") from exc
    unknown = sorted(set(data) - set(THEME_KEYS))
    if unknown:
        raise ThemeFileError(f"{path.name}: unknown key {unknown[0]!r}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ThemeFileError(f"{path.name}: 'name' and 'primary' are required strings")
    try:
        theme = Theme(**data)
        theme.to_color_system()  # a colour Textual cannot parse fails here, not at paint
    except Exception as exc:  # noqa: BLE001 - any bad value names the file
        raise ThemeFileError(f"{path.name}: {exc}") from exc
    return theme


def load_themes(directory: Path = THEMES_DIR) -> tuple[list[Theme], list[str]]:
    """Every usable theme in the folder (sorted by file name), and a note per file skipped."""
    themes, notes = [], []
    for path in sorted(directory.glob("*.toml")):
        try:
            themes.append(load_theme(path))
        except ThemeFileError as exc:
            notes.append(f"theme skipped: {exc}")
    return themes, notes
