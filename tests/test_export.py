"""Export: .json the whole report, .csv / .parquet the positions table; each read back
with polars' readers."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import polars as pl
import pytest

from core.config import load_config, load_portfolio
from core.engine import compute
from core.feeds.replay_file import load_replay_end
from core.report import PositionRow
from core.risk import RiskInputError
from core.risk.export import export_report
from tui.cli import main

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "data" / "demo.jsonl"


def demo_report():
    config = load_config(PROJECT / "config.toml")
    return compute(
        load_portfolio(config.portfolio_path).portfolio,
        load_replay_end(DEMO),
        0.0,
        config.settings,
    )


@pytest.mark.parametrize("suffix, read", [(".csv", pl.read_csv), (".parquet", pl.read_parquet)])
def test_positions_table_round_trips(tmp_path, suffix, read):
    report = demo_report()
    path = export_report(report, report.to_json(), tmp_path / f"book{suffix}")
    frame = read(path)
    assert frame.columns == [f.name for f in fields(PositionRow)]
    assert frame.height == len(report.positions) == 2
    back = frame.to_dicts()
    for row, position in zip(back, report.to_json()["positions"], strict=True):
        for key, value in position.items():
            if isinstance(value, float):
                assert row[key] == pytest.approx(value, rel=1e-12), key
            else:
                assert row[key] == value, key
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_json_export_is_the_whole_document(tmp_path):
    report = demo_report()
    doc = {**report.to_json(), "alerts": []}
    path = export_report(report, doc, tmp_path / "report.json")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(doc))
    assert pl.read_json(path).columns[0] == "totals"


def test_an_unknown_extension_or_a_missing_folder_is_refused(tmp_path):
    report = demo_report()
    with pytest.raises(RiskInputError, match="use .json, .csv or .parquet"):
        export_report(report, {}, tmp_path / "book.xlsx")
    with pytest.raises(RiskInputError, match="does not exist"):
        export_report(report, {}, tmp_path / "nope" / "book.csv")


def test_report_out_writes_the_file_and_the_json_document_is_the_same(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["report", "--replay", str(DEMO), "--json", "--stress", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text(encoding="utf-8")) == printed
    assert len(printed["stress"]) == 21
    parquet = tmp_path / "positions.parquet"
    assert main(["report", "--replay", str(DEMO), "--out", str(parquet)]) == 0
    assert pl.read_parquet(parquet)["id"].to_list() == ["h-btc", "a-eth"]


def test_report_out_with_a_bad_extension_exits_2_and_writes_nothing(tmp_path, capsys):
    assert main(["report", "--replay", str(DEMO), "--out", str(tmp_path / "r.txt")]) == 2
    assert "unknown export format" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
