"""Where the app finds its files: the config lookup chain and the bundled defaults.

The bundled defaults (config.toml, the demo portfolio, themes/, data/) live at the
repository root; a wheel carries the same files in the `core/bundled` folder, so a
non-editable install runs with no checkout around it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CONFIG_NAME = "config.toml"
_HERE = Path(__file__).resolve().parent
_INSTALLED = _HERE / "bundled"
_CHECKOUT = _HERE.parent


def bundled_root() -> Path:
    """The folder that holds the bundled config.toml, portfolio.toml, themes/ and data/."""
    # One marker decides for every file, so they always come from the same copy.
    return _INSTALLED if (_INSTALLED / CONFIG_NAME).is_file() else _CHECKOUT


def bundled_path(name: str) -> Path:
    """A bundled file or folder by its path from the repository root: 'data/demo.jsonl'."""
    return bundled_root() / name


def user_config_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """$XDG_CONFIG_HOME/symbiosis, else ~/.config/symbiosis; None with no home at all."""
    base = environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec: an unset, empty or relative value is ignored in favour of ~/.config.
    if base and Path(base).is_absolute():
        return Path(base) / "symbiosis"
    try:
        return Path.home() / ".config" / "symbiosis"
    except RuntimeError:  # no $HOME and no passwd entry
        return None


def config_path(explicit: str | Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """The config the app reads: `--config`, else ./config.toml, else the user's, else bundled."""
    if explicit:
        return Path(explicit)
    local = Path(CONFIG_NAME)
    if local.is_file():
        return local
    user = user_config_dir(environ)
    if user is not None and (user / CONFIG_NAME).is_file():
        return user / CONFIG_NAME
    return bundled_path(CONFIG_NAME)
