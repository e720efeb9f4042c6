"""The funding ledger: Parquet on disk, append-only, deduplicated by venue and id."""

from __future__ import annotations

import polars as pl
import pytest

from core.importer.accounts import FundingPayment
from core.ledger import append_funding, funding_totals, ledger_path, read_ledger


def payment(ident: str, ts: int, amount: float, venue: str = "bybit") -> FundingPayment:
    return FundingPayment(
        venue=venue, id=ident, symbol="LTC/USDT:USDT", code="USDT", timestamp_ms=ts, amount=amount
    )


FIRST_WINDOW = [
    payment("fc52e306", 1710864000000, -0.00236058),
    payment("c88057b1", 1710892800000, 0.0007797),
]
# The next import's window overlaps the first by one payment and adds one.
SECOND_WINDOW = [
    payment("c88057b1", 1710892800000, 0.0007797),
    payment("89102b18", 1710921600000, -0.00708126),
]


def test_the_ledger_lives_in_the_users_data_folder():
    assert str(ledger_path({"XDG_DATA_HOME": "/data"})) == "/data/symbiosis/funding_ledger.parquet"
    home = ledger_path({"HOME": "/home/ann"})
    assert str(home) == "/home/ann/.local/share/symbiosis/funding_ledger.parquet"


def test_two_overlapping_imports_keep_each_payment_once(tmp_path):
    path = tmp_path / "symbiosis" / "funding_ledger.parquet"
    assert append_funding(path, FIRST_WINDOW) == 2
    assert append_funding(path, SECOND_WINDOW) == 1
    assert append_funding(path, SECOND_WINDOW) == 0
    ledger = pl.read_parquet(path)
    assert ledger["id"].to_list() == ["fc52e306", "c88057b1", "89102b18"]
    # -0.00236058 + 0.0007797 - 0.00708126 = -0.00866214 realised on LTC.
    totals = funding_totals(path)
    assert totals["amount"].to_list() == [pytest.approx(-0.00866214, abs=1e-12)]
    assert totals["payments"].to_list() == [3]


def test_rows_the_exchange_no_longer_returns_stay_in_the_ledger(tmp_path):
    path = tmp_path / "ledger.parquet"
    append_funding(path, FIRST_WINDOW)
    append_funding(path, [payment("89102b18", 1710921600000, -0.00708126)])
    assert read_ledger(path).height == 3


def test_the_same_id_on_two_venues_is_two_payments(tmp_path):
    path = tmp_path / "ledger.parquet"
    added = append_funding(
        path, [payment("1", 1, 0.5, venue="binance"), payment("1", 1, 0.5, venue="okx")]
    )
    assert added == 2
    assert read_ledger(path)["venue"].to_list() == ["binance", "okx"]


def test_an_import_with_nothing_new_does_not_touch_the_file(tmp_path):
    path = tmp_path / "ledger.parquet"
    append_funding(path, FIRST_WINDOW)
    before = path.stat().st_mtime_ns, path.read_bytes()
    assert append_funding(path, FIRST_WINDOW) == 0
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_a_missing_ledger_reads_as_empty(tmp_path):
    ledger = read_ledger(tmp_path / "none.parquet")
    assert ledger.height == 0
    assert ledger.columns == ["venue", "id", "symbol", "code", "timestamp_ms", "amount"]
