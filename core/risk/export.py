"""Export the report: .json the whole document, .csv / .parquet the positions table
(polars writers; the format comes from the file's extension)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import polars as pl

from core.report import PositionRow, Report
from core.risk import RiskInputError

FORMATS = (".json", ".csv", ".parquet")


def export_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise RiskInputError(
            f"{path}: unknown export format {suffix or '(no extension)'!r} "
            "(use .json, .csv or .parquet)"
        )
    return suffix


def positions_frame(report: Report) -> pl.DataFrame:
    """One row per position with the positions[] keys (JSON's columns, JSON's order)."""
    names = [f.name for f in fields(PositionRow)]
    frame = report.position_frame.select(names)
    # Inf has no place in a table for people or scripts: as in the JSON, it is null.
    floats = [n for n, t in frame.schema.items() if t == pl.Float64]
    return frame.with_columns(
        [pl.when(pl.col(n).is_finite()).then(pl.col(n)).otherwise(None).alias(n) for n in floats]
    )


def export_report(report: Report, document: Mapping[str, Any], path: str | Path) -> Path:
    """Write `document` (.json) or the positions table (.csv, .parquet) to path, atomically
    (a temporary file in the same folder, renamed over the target)."""
    path = Path(path)
    suffix = export_format(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise RiskInputError(f"{path}: folder {folder} does not exist")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        if suffix == ".json":
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2)
                handle.write("\n")
        elif suffix == ".csv":
            positions_frame(report).write_csv(temporary)
        else:
            positions_frame(report).write_parquet(temporary)
        # mkstemp makes the file private; an export is an ordinary file (umask applies).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as exc:
        raise RiskInputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
