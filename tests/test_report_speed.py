"""`symbiosis report` reads its replay once: the final state and the basis/funding
history come from the same read, and the table prints the same alerts as the JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.feeds.replay_file import ReplayError, fold_replay
from core.risk.history import ContractHistory, history_from_replay
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.jsonl"
PERP = "BTC/USDT:USDT"
LAST_TS = 1_795_176_300_000  # the demo's last timestamp


def funding(rate: float, ts: int, exchange: str = "binance") -> dict[str, Any]:
    data = {"symbol": PERP, "fundingRate": rate, "markPrice": 60_013.16, "interval": "8h"}
    return {"ts": ts, "exchange": exchange, "type": "funding", "data": data}


def demo_with(tmp_path: Path, events: list[dict[str, Any]], raw: str = "") -> Path:
    """The demo replay with events appended after its end."""
    path = tmp_path / "replay.jsonl"
    extra = "".join(json.dumps(e) + "\n" for e in events)
    path.write_text(DEMO.read_text(encoding="utf-8") + extra + raw, encoding="utf-8")
    return path


def same_history(a: ContractHistory, b: ContractHistory) -> None:
    assert a.symbols() == b.symbols()
    for symbol in a.symbols():
        assert a.series(symbol) == b.series(symbol), symbol
    assert a.previous_funding() == b.previous_funding()


def folded(path: Path) -> tuple[Any, ContractHistory]:
    history = ContractHistory()
    return fold_replay(path, each_timestamp=history.record), history


def test_the_history_filled_while_folding_is_the_history_read_on_its_own(tmp_path):
    market, history = folded(DEMO)
    assert market == fold_replay(DEMO)
    same_history(history, history_from_replay(DEMO))
    assert len(history.series(PERP)) == 240  # 301 timestamps, the ring keeps 240


def test_a_flip_a_bad_line_a_second_venue_and_a_step_back_in_time_fold_alike(tmp_path):
    # A flip at +1 min, a dropped price, an event of another venue, a timestamp that
    # goes back (it records no point), then the rate back to positive at +3 min.
    events = [
        funding(-0.0002, LAST_TS + 60_000),
        {
            "ts": LAST_TS + 60_000,
            "exchange": "binance",
            "type": "ticker",
            "data": {"symbol": "ETH/USDT", "last": -1.0},
        },
        funding(0.0003, LAST_TS + 90_000, exchange="bybit"),
        funding(0.0001, LAST_TS + 30_000),
        funding(0.0004, LAST_TS + 180_000),
    ]
    path = demo_with(tmp_path, events)
    market, history = folded(path)
    assert market == fold_replay(path)
    assert "ETH/USDT ticker (last -1 <= 0)" in market.note
    same_history(history, history_from_replay(path))
    # The step back's rate (0.0001) is never observed: its quote is no newer than the
    # last point. So the rate before the current 0.0004 is the flip's -0.0002.
    assert history.funding_rates(PERP)[-3:] == [0.0001047, -0.0002, 0.0004]
    assert history.previous_funding()[PERP] == -0.0002
    assert history.funding_rates(f"{PERP}@bybit") == [0.0003]


def test_a_malformed_line_is_refused_by_file_and_line_with_a_history_asked(tmp_path):
    path = demo_with(tmp_path, [funding(-0.0002, LAST_TS + 60_000)], raw="{not json\n")
    lines = len(path.read_text(encoding="utf-8").splitlines())
    with pytest.raises(ReplayError) as folding:
        folded(path)
    with pytest.raises(ReplayError) as plain:
        fold_replay(path)
    assert str(folding.value) == str(plain.value)
    assert str(folding.value).startswith(f"{path}:{lines}: not valid JSON (")


def test_a_funding_flip_in_the_replay_is_an_alert_in_the_json_and_the_table(tmp_path, capsys):
    # BTC/USDT:USDT funds at +0.01047 % at the demo's end; -0.02 % a minute later is a flip.
    path = demo_with(tmp_path, [funding(-0.0002, LAST_TS + 60_000)])
    assert main(["report", "--replay", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    flips = [a for a in doc["alerts"] if a["kind"] == "funding_flip"]
    assert [(a["target"], a["value"]) for a in flips] == [(PERP, -0.0002)]
    message = flips[0]["message"]
    assert message == (
        "BTC/USDT:USDT funding flipped from +0.0105 % to -0.0200 %: shorts now pay longs"
    )
    assert main(["report", "--replay", str(path)]) == 0
    # Rich wraps the line at the console's 80 columns: compare the words.
    table = " ".join(capsys.readouterr().out.split())
    assert f"alert: {message}" in table


def test_the_table_report_writes_the_same_document_with_out_as_json_prints(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["report", "--replay", str(DEMO), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("Totals")
    assert main(["report", "--replay", str(DEMO), "--json"]) == 0
    printed = capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == printed


def test_the_table_report_loads_neither_textual_nor_ccxt():
    from tests.test_import_hygiene import heavy_modules_after

    code = "from tui.cli import main\nassert main(['report', '--replay', 'data/demo.jsonl']) == 0\n"
    loaded, out = heavy_modules_after(code)
    assert loaded == []
    assert out.startswith("Totals")


def test_the_cycle_collector_is_on_again_after_a_report_or_a_refused_one(tmp_path, capsys):
    import gc

    assert gc.isenabled()
    assert main(["report", "--replay", str(DEMO)]) == 0
    assert gc.isenabled()
    assert main(["report", "--replay", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot open replay file" in capsys.readouterr().err
    assert gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        assert main(["report", "--replay", str(DEMO)]) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
