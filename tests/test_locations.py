"""Where the app finds config.toml: --config, ./config.toml, the user's folder, the bundled one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.locations import bundled_path, bundled_root, config_path, user_config_dir
from tui.cli import main

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "data" / "demo.jsonl"
# The bundled config.toml gives ETH a beta of 1.2; each test config below its own.
BUNDLED_ETH_BETA = 1.2


def write_config(folder: Path, eth_beta: float) -> Path:
    """A config on the demo book and replay whose ETH beta names it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'[portfolio]\npath = "{PROJECT / "portfolio.toml"}"\n'
        f'[feed]\nkind = "replay"\nreplay = "{DEMO}"\n'
        f"[betas]\nETH = {eth_beta}\n",
        encoding="utf-8",
    )
    return path


def eth_beta_of_report(capsys, *args: str) -> float:
    assert main(["report", "--json", *args]) == 0
    doc = json.loads(capsys.readouterr().out)
    return next(a["beta"] for a in doc["assets"] if a["asset"] == "ETH")


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch) -> Path:
    """A working folder with no config.toml, the user's config home empty."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return work


def test_with_no_config_anywhere_the_report_runs_on_the_bundled_one(elsewhere: Path, capsys):
    assert config_path(None) == bundled_path("config.toml")
    assert eth_beta_of_report(capsys, "--replay", str(DEMO)) == BUNDLED_ETH_BETA


def test_the_users_config_folder_comes_before_the_bundled_config(
    elsewhere: Path, tmp_path: Path, capsys
):
    user = write_config(tmp_path / "xdg" / "symbiosis", 1.4)
    assert config_path(None) == user
    assert eth_beta_of_report(capsys) == 1.4


def test_a_config_in_the_working_folder_comes_before_the_users(
    elsewhere: Path, tmp_path: Path, capsys
):
    write_config(tmp_path / "xdg" / "symbiosis", 1.4)
    write_config(elsewhere, 1.3)
    assert config_path(None) == Path("config.toml")
    assert eth_beta_of_report(capsys) == 1.3


def test_the_config_flag_comes_before_every_other_place(elsewhere: Path, tmp_path: Path, capsys):
    write_config(tmp_path / "xdg" / "symbiosis", 1.4)
    write_config(elsewhere, 1.3)
    flagged = write_config(tmp_path / "flagged", 1.1)
    assert eth_beta_of_report(capsys, "--config", str(flagged)) == 1.1


def test_without_xdg_config_home_the_users_folder_is_dot_config(
    elsewhere: Path, tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    write_config(tmp_path / "home" / ".config" / "symbiosis", 1.4)
    assert eth_beta_of_report(capsys) == 1.4


def test_a_relative_or_empty_xdg_config_home_is_ignored_as_the_xdg_spec_says(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    for value in ("", "relative/dir"):
        assert user_config_dir({"XDG_CONFIG_HOME": value}) == tmp_path / ".config" / "symbiosis"
    assert user_config_dir({"XDG_CONFIG_HOME": "/x/y"}) == Path("/x/y/symbiosis")


def test_in_a_checkout_the_bundled_files_are_the_repository_root_files():
    # The wheel has its own copy under core/bundled; a checkout reads the root files.
    assert bundled_root() == PROJECT
    assert bundled_path("data/demo.jsonl") == DEMO
    assert sorted(p.name for p in bundled_path("themes").glob("*.toml")) == sorted(
        p.name for p in (PROJECT / "themes").glob("*.toml")
    )
