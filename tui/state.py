"""What the app remembers between runs (the theme chosen with `t`), in the user's
state folder: `$XDG_STATE_HOME/symbiosis/state.toml`, never in config.toml."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import tomli_w


def state_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "symbiosis" / "state.toml"


def load_state(path: Path) -> dict[str, str]:
    """The remembered values; an unreadable or odd file is nothing remembered."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)}


def save_state(path: Path, values: dict[str, str]) -> str | None:
    """Write the state (temporary file then rename); the problem in words, or None."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(tomli_w.dumps(values), encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        return f"could not remember the theme in {path}: {exc.strerror or exc}"
    return None


def remembered_theme(path: Path, config_theme: str) -> str | None:
    """The theme last chosen with `t`, unless config.toml names another one since."""
    state = load_state(path)
    if state.get("config_theme", config_theme) != config_theme:
        return None
    return state.get("theme")
