"""The local funding ledger: realised funding payments kept in Parquet, append-only.

Exchanges keep funding history for weeks to months only; every import appends what it
read to `$XDG_DATA_HOME/symbiosis/funding_ledger.parquet` (default
`~/.local/share/symbiosis/`). A payment is identified by venue and id, so re-importing
the same window adds nothing. Rows are never rewritten or dropped; the file is replaced
atomically (temporary file, fsync, rename) so a kill never leaves it torn.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from core.importer.accounts import FundingPayment

LEDGER_NAME = "funding_ledger.parquet"
SCHEMA = {
    "venue": pl.Utf8,
    "id": pl.Utf8,
    "symbol": pl.Utf8,
    "code": pl.Utf8,
    "timestamp_ms": pl.Int64,
    "amount": pl.Float64,
}


def data_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The user's data folder for symbiosis ($XDG_DATA_HOME/symbiosis)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/share")
    return Path(base) / "symbiosis"


def ledger_path(environ: Mapping[str, str] | None = None) -> Path:
    return data_folder(environ) / LEDGER_NAME


class LedgerError(ValueError):
    """A ledger file that cannot be read: it is left as it is, never replaced."""


def read_ledger(path: Path) -> pl.DataFrame:
    """Every payment recorded so far (an empty frame when there is no ledger yet)."""
    if not path.exists():
        return pl.DataFrame(schema=SCHEMA)
    try:
        frame = pl.read_parquet(path)
        return frame.select(list(SCHEMA)).cast(SCHEMA)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - polars raises several kinds for a bad file
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise LedgerError(
            f"{path}: not a readable funding ledger ({reason}); left as it is"
        ) from exc


def _frame(payments: Iterable[FundingPayment]) -> pl.DataFrame:
    rows = [
        {
            "venue": p.venue,
            "id": p.id,
            "symbol": p.symbol,
            "code": p.code,
            "timestamp_ms": p.timestamp_ms,
            "amount": p.amount,
        }
        for p in payments
    ]
    return pl.DataFrame(rows, schema=SCHEMA)


def append_funding(path: Path, payments: Iterable[FundingPayment]) -> int:
    """Add the payments not yet in the ledger; return how many were added."""
    existing = read_ledger(path)
    new = _frame(payments).unique(subset=["venue", "id"], keep="first", maintain_order=True)
    if existing.height:
        new = new.join(existing.select("venue", "id"), on=["venue", "id"], how="anti")
    if new.height == 0:
        return 0
    combined = pl.concat([existing, new]).sort(["timestamp_ms", "venue", "id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        combined.write_parquet(temp_name)
        with open(temp_name, "rb+") as temp:
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    return new.height


def funding_totals(path: Path) -> pl.DataFrame:
    """Realised funding per venue and contract (+ received, - paid)."""
    return (
        read_ledger(path)
        .group_by(["venue", "symbol"], maintain_order=True)
        .agg(pl.col("amount").sum().alias("amount"), pl.len().alias("payments"))
        .sort(["venue", "symbol"])
    )
