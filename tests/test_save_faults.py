"""Saving portfolio.toml under faults: kills, a full disk, a read-only folder, a symlink.

Whatever happens, portfolio.toml is the old or the new content, portfolio.toml.bak
is a whole earlier version, and the next save leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import (
    ConfigError,
    SaveError,
    load_portfolio,
    save_portfolio,
)
from core.model import frozen_map

ROOT = Path(__file__).resolve().parent.parent

PORTFOLIO = """\
[account]
collateral_usd = 1.0

[[holdings]]
asset = "BTC"
qty = 0.5
note = "cold wallet"

[[hedges]]
id = "h-btc"
symbol = "BTC/USDT:USDT"
side = "short"
size = 0.25
entry_price = 70000.0
leverage = 3.0
"""


def write(folder: Path, text: str = PORTFOLIO) -> Path:
    path = folder / "portfolio.toml"
    path.write_text(text, encoding="utf-8")
    return path


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def with_collateral(path: Path, value: float) -> str:
    """Save the book at `path` with another cross wallet; the new fingerprint."""
    loaded = load_portfolio(path)
    book = replace(loaded.portfolio, collateral_usd=value)
    return save_portfolio(book, path, loaded.fingerprint)


# -- backup and leftovers ----------------------------------------------------------------------


def test_each_save_keeps_the_previous_whole_file_as_a_loadable_backup(tmp_path):
    path = write(tmp_path)
    with_collateral(path, 2.0)
    with_collateral(path, 3.0)
    backup = tmp_path / "portfolio.toml.bak"
    assert load_portfolio(backup).portfolio.collateral_usd == 2.0
    assert load_portfolio(path).portfolio.collateral_usd == 3.0
    assert temp_files(tmp_path) == []


def test_leftover_temp_files_of_interrupted_saves_are_removed_by_the_next_save(tmp_path):
    path = write(tmp_path)
    for name in (".portfolio.toml.abc123.tmp", ".portfolio.toml.bak.def456.tmp"):
        (tmp_path / name).write_bytes(b"x" * 100_000)
    unrelated = tmp_path / ".other.toml.zzz.tmp"
    unrelated.write_text("not ours")
    with_collateral(path, 2.0)
    assert temp_files(tmp_path) == [unrelated.name]


def test_an_empty_previous_file_never_replaces_a_good_backup(tmp_path):
    path = write(tmp_path)
    with_collateral(path, 2.0)  # .bak now holds collateral 1.0
    path.write_text("")  # emptied by something else
    book = load_portfolio(tmp_path / "portfolio.toml.bak").portfolio
    save_portfolio(book, path, None)
    assert load_portfolio(tmp_path / "portfolio.toml.bak").portfolio.collateral_usd == 1.0


def test_a_book_too_deep_to_write_is_refused_and_the_file_is_unchanged(tmp_path):
    path = write(tmp_path)
    loaded = load_portfolio(path)
    deep: dict = {}
    cursor = deep
    for _ in range(3000):
        cursor["x"] = {}
        cursor = cursor["x"]
    position = replace(loaded.portfolio.positions[0], extra=frozen_map({"deep": deep}))
    book = replace(loaded.portfolio, positions=(position,))
    started = time.perf_counter()
    with pytest.raises(SaveError, match="cannot be written as TOML"):
        save_portfolio(book, path, loaded.fingerprint)
    assert time.perf_counter() - started < 2.0
    assert path.read_text(encoding="utf-8") == PORTFOLIO


# -- symlink -------------------------------------------------------------------------------------


def test_a_symlinked_portfolio_is_saved_through_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = write(tmp_path / "real")
    link = tmp_path / "portfolio.toml"
    link.symlink_to(target)
    with_collateral(link, 2.0)
    assert link.is_symlink() and link.resolve() == target
    assert load_portfolio(target).portfolio.collateral_usd == 2.0
    assert load_portfolio(tmp_path / "real" / "portfolio.toml.bak").portfolio.collateral_usd == 1.0
    assert temp_files(tmp_path) == [] and temp_files(tmp_path / "real") == []


# -- full disk and read-only folder ----------------------------------------------------------------


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Write until the file system is full."""
    with (folder / "filler").open("wb", buffering=0) as handle:
        with contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 4096)


def big_note_book(path: Path) -> tuple:
    loaded = load_portfolio(path)
    holding = replace(loaded.portfolio.holdings[0], note="n" * 200_000)
    return loaded, replace(loaded.portfolio, holdings=(holding,))


@pytest.mark.skipif(os.geteuid() != 0, reason="a tmpfs needs root; see the fault-injected twin")
def test_on_a_full_disk_nothing_good_is_replaced_and_the_caller_is_told(tmp_path):
    with mounted_tmpfs(tmp_path / "disk", "256k") as disk:
        path = write(disk)
        with_collateral(path, 2.0)  # a good .bak (collateral 1.0) exists
        before = path.read_bytes(), (disk / "portfolio.toml.bak").read_bytes()
        fill(disk)
        loaded, book = big_note_book(path)
        with pytest.raises(SaveError, match="not saved .*No space left on device"):
            save_portfolio(book, path, loaded.fingerprint)
        assert (path.read_bytes(), (disk / "portfolio.toml.bak").read_bytes()) == before
        assert temp_files(disk) == []
        (disk / "filler").unlink()
        save_portfolio(book, path, loaded.fingerprint)
        assert load_portfolio(path).portfolio.holdings[0].note == "n" * 200_000


def test_a_write_fault_halfway_through_the_backup_replaces_nothing(tmp_path, monkeypatch):
    """The fault-injected twin of the full-disk test: the backup's write fails."""
    path = write(tmp_path)
    with_collateral(path, 2.0)
    before = path.read_bytes(), (tmp_path / "portfolio.toml.bak").read_bytes()
    real_fsync = os.fsync
    calls = []

    def fsync_fails_on_the_second_file(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the first is the new file, the second the backup
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fails_on_the_second_file)
    loaded = load_portfolio(path)
    with pytest.raises(SaveError, match="No space left on device"):
        save_portfolio(replace(loaded.portfolio, collateral_usd=3.0), path, loaded.fingerprint)
    monkeypatch.undo()
    assert (path.read_bytes(), (tmp_path / "portfolio.toml.bak").read_bytes()) == before
    assert temp_files(tmp_path) == []


def test_a_read_only_folder_refuses_the_save_clearly_and_changes_nothing(tmp_path):
    # Root ignores file modes: as root the folder is a tmpfs remounted read-only, else a
    # mode-0555 folder. Either way the save is refused and the file stays as it was.
    if os.geteuid() == 0:
        with mounted_tmpfs(tmp_path / "disk", "1m") as disk:
            path = write(disk)
            loaded = load_portfolio(path)
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            with pytest.raises(SaveError, match="not saved .*Read-only file system"):
                save_portfolio(
                    replace(loaded.portfolio, collateral_usd=5.0), path, loaded.fingerprint
                )
            assert path.read_text(encoding="utf-8") == PORTFOLIO
        return
    path = write(tmp_path)
    loaded = load_portfolio(path)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(SaveError, match="not saved"):
            save_portfolio(replace(loaded.portfolio, collateral_usd=5.0), path, loaded.fingerprint)
    finally:
        tmp_path.chmod(0o755)
    assert path.read_text(encoding="utf-8") == PORTFOLIO


# -- kills -----------------------------------------------------------------------------------------

SAVER = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from core.config import load_portfolio, save_portfolio

    path = sys.argv[1]
    loaded = load_portfolio(path)
    book, version = loaded.portfolio, int(loaded.portfolio.collateral_usd)
    holding = replace(book.holdings[0], note="n" * 20_000)  # a save is not one write
    print("ready", flush=True)
    while True:
        version += 1
        book = replace(book, collateral_usd=float(version), holdings=(holding,))
        save_portfolio(book, path, None)
    """
)

KILLS = 100


def test_a_saver_killed_at_random_points_leaves_whole_files_and_the_next_save_cleans_up(tmp_path):
    path = write(tmp_path)
    rng = random.Random(11)
    versions_seen: set[float] = set()
    leftovers_seen = 0
    for _ in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        main = load_portfolio(path).portfolio  # whole: it loads (a torn file is refused)
        backup = tmp_path / "portfolio.toml.bak"
        if backup.exists():
            earlier = load_portfolio(backup).portfolio
            assert earlier.collateral_usd <= main.collateral_usd
        versions_seen.add(main.collateral_usd)
        leftovers_seen += bool(temp_files(tmp_path))
    with_collateral(path, 0.5)
    assert temp_files(tmp_path) == []
    # The kills landed at many points: many versions came through, some kills mid-save.
    assert len(versions_seen) > 10
    print(f"\nkills {KILLS}, versions seen {len(versions_seen)}, kills mid-save {leftovers_seen}")


def test_a_torn_backup_is_refused_on_load(tmp_path):
    path = write(tmp_path)
    with_collateral(path, 2.0)
    with_collateral(path, 3.0)
    backup = tmp_path / "portfolio.toml.bak"
    whole = backup.read_text(encoding="utf-8")
    backup.write_text(whole[: len(whole) // 2], encoding="utf-8")
    with pytest.raises(ConfigError, match="cut short|invalid TOML"):
        load_portfolio(backup)
    backup.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_portfolio(backup)
    assert load_portfolio(path).portfolio.collateral_usd == 3.0
