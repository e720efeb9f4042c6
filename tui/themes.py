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


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and key."""


def load_theme(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path}: {exc}") from exc
    unknown = sorted(set(data) - set(THEME_KEYS))
    if unknown:
        raise ThemeFileError(f"{path}: unknown key {unknown[0]!r}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ThemeFileError(f"{path}: 'name' and 'primary' are required strings")
    return Theme(**data)


def load_themes(directory: Path = THEMES_DIR) -> list[Theme]:
    """Every theme in the folder, sorted by file name."""
    return [load_theme(path) for path in sorted(directory.glob("*.toml"))]
