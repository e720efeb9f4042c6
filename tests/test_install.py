"""A non-editable install runs on its own: bundled config, demo portfolio, replay and themes.

The project is copied, built and installed with `pip install .` into a fresh venv
(no network: no dependencies, no build isolation; the running environment's
packages are visible to it through a .pth file). Then `symbiosis report` runs
from an empty folder with an empty $XDG_CONFIG_HOME.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from core.config import load_config, load_portfolio
from core.engine import compute
from core.feeds.replay_file import load_replay_end

PROJECT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


BUNDLED = ["config.toml", "portfolio.toml", "data/demo.jsonl", "themes/symbiosis-dark.toml"]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(PROJECT, source, ignore=NOT_SHIPPED)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # Lines of a .pth file are appended to sys.path (after the venv's own site-packages),
    # so the installed copy is found first and the dependencies come from here.
    (purelib / "test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    home, xdg, work = root / "home", root / "xdg", root / "elsewhere"
    for folder in (home, xdg, work):
        folder.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(xdg),
        "SYMBIOSIS_OFFLINE": "1",
        "COLUMNS": "80",
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    run([*pip, str(source)], cwd=work, env=env)
    return {"venv": venv, "python": python, "purelib": purelib, "work": work, "env": env}


def test_installed_report_runs_from_another_folder_on_the_bundled_files(installed):
    symbiosis = str(installed["venv"] / "bin" / "symbiosis")
    assert not (installed["work"] / "config.toml").exists()
    table = run([symbiosis, "report"], installed["work"], installed["env"])
    # Offline, the bundled config (feed kind ccxt) falls back to its bundled demo replay.
    bundled = installed["purelib"] / "core" / "bundled"
    assert f"using replay {bundled / 'data' / 'demo.jsonl'}" in table.stderr
    for text in ("Totals", "h-btc", "a-eth", "made-up demo data"):
        assert text in table.stdout

    done = run([symbiosis, "report", "--json"], installed["work"], installed["env"])
    config = load_config(PROJECT / "config.toml")
    expected = compute(
        load_portfolio(config.portfolio_path).portfolio,
        load_replay_end(PROJECT / "data" / "demo.jsonl"),
        0.0,
        config.settings,
    )
    # Every figure equals the checkout's report on the same files.
    doc = json.loads(done.stdout)
    assert doc.pop("alerts") == []  # the bundled thresholds: none crossed on the demo
    assert doc == json.loads(json.dumps(expected.to_json()))


def test_installed_copy_holds_every_module_and_loads_its_themes(installed):
    probe = (
        "import json, core, core.locations as where, tui.themes as themes\n"
        "print(json.dumps({'core': core.__file__, 'root': str(where.bundled_root()),\n"
        "    'themes': [themes.load_theme(p).name for p in"
        " sorted(themes.THEMES_DIR.glob('*.toml'))]}))\n"
    )
    done = run([str(installed["python"]), "-c", probe], installed["work"], installed["env"])
    found = json.loads(done.stdout)
    purelib = installed["purelib"]
    assert Path(found["core"]).is_relative_to(purelib)
    assert found["root"] == str(purelib / "core" / "bundled")
    expected_themes = sorted(PROJECT.glob("themes/*.toml"))
    assert len(found["themes"]) == len(expected_themes) >= 3
    assert "symbiosis-dark" in found["themes"]
    for name in BUNDLED:
        assert (purelib / "core" / "bundled" / name).is_file(), name
    # A module or stylesheet left out of the wheel would only fail when first used.
    for package in ("core", "tui"):
        for path in (PROJECT / package).rglob("*"):
            if path.suffix in (".py", ".tcss") and "__pycache__" not in path.parts:
                assert (purelib / path.relative_to(PROJECT)).is_file(), path


def test_a_wheel_built_from_the_sdist_carries_the_bundled_files_too(tmp_path: Path):
    # `python -m build` makes the wheel from the sdist, not from the checkout.
    source = tmp_path / "source"
    shutil.copytree(PROJECT, source, ignore=NOT_SHIPPED)
    build = "import sys; from setuptools import build_meta as b; print(b.build_{}(sys.argv[1]))"
    env = {**os.environ, "PIP_NO_INDEX": "1"}
    sdist = run([sys.executable, "-c", build.format("sdist"), str(tmp_path)], source, env)
    with tarfile.open(tmp_path / sdist.stdout.strip().splitlines()[-1]) as archive:
        # The "data" filter (Python 3.11.4 and later) refuses links and paths leaving
        # the folder; an older 3.11 extracts as is (the archive is the sdist just built).
        if hasattr(tarfile, "data_filter"):
            archive.extractall(tmp_path / "unpacked", filter="data")
        else:
            archive.extractall(tmp_path / "unpacked")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    wheel = run([sys.executable, "-c", build.format("wheel"), str(tmp_path)], unpacked, env)
    with zipfile.ZipFile(tmp_path / wheel.stdout.strip().splitlines()[-1]) as archive:
        names = set(archive.namelist())
    assert {f"core/bundled/{name}" for name in BUNDLED} <= names
    assert "tui/app.tcss" in names
