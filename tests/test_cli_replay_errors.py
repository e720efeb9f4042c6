"""A replay line that is not a replay event gives one line naming file and line, for report
and for the TUI (bad market data inside a well-formed event is dropped with a note instead)."""

from __future__ import annotations

import json

import pytest

from tui.cli import main

TS = 1_800_000_000_000
GOOD = {"ts": TS, "type": "ticker", "data": {"symbol": "BTC/USDT", "last": 60000.0}}


@pytest.mark.parametrize("command", [["report"], []], ids=["report", "tui"])
@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ("not json", ":2: not valid JSON"),
        (
            json.dumps({"ts": "soon", "type": "tiers", "data": []}),
            ":2: key 'ts' must be an integer",
        ),
        (json.dumps({"ts": TS, "type": "quote", "data": {}}), ":2: key 'type' must be one of"),
    ],
)
def test_malformed_replay_exits_2_with_file_and_line(
    tmp_path, capsys, command, second_line, message
):
    replay = tmp_path / "bad.jsonl"
    replay.write_text(json.dumps(GOOD) + "\n" + second_line + "\n")
    assert main([*command, "--replay", str(replay)]) == 2
    err = capsys.readouterr().err
    assert f"{replay}{message}" in err
    assert "Traceback" not in err
