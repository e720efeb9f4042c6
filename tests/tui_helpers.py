"""Build the real app on real files in a temp folder, for pilot and snapshot tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.config import load_config, load_portfolio
from core.feeds.replay_file import load_replay_end
from tui.app import SymbiosisApp

ROOT = Path(__file__).resolve().parent.parent
FIXED_WALL_CLOCK = 1_800_000_000.0


def make_workspace(tmp_path: Path, portfolio_text: str | None = None) -> Path:
    """A folder with config.toml (replay feed), portfolio.toml and the demo replay."""
    (tmp_path / "data").mkdir(exist_ok=True)
    shutil.copy(ROOT / "data" / "demo.jsonl", tmp_path / "data" / "demo.jsonl")
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    config = config.replace('kind = "ccxt"', 'kind = "replay"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    portfolio = portfolio_text or (ROOT / "portfolio.toml").read_text(encoding="utf-8")
    (tmp_path / "portfolio.toml").write_text(portfolio, encoding="utf-8")
    return tmp_path


def make_app(folder: Path) -> SymbiosisApp:
    """The app on the folder's files; what it remembers goes to folder/state/state.toml."""
    config = load_config(folder / "config.toml")
    loaded = load_portfolio(config.portfolio_path)
    market = load_replay_end(folder / "data" / "demo.jsonl")
    return SymbiosisApp(
        config,
        loaded,
        market,
        wall_clock=lambda: FIXED_WALL_CLOCK,
        state_file=folder / "state" / "state.toml",
    )
