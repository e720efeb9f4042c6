"""The app and `record` on hostile input: bad replays never crash the app, and a
recording never truncates a file or writes one when nothing was recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.feeds.recorder import EventWriter, record
from tests.tui_helpers import make_workspace
from tui.app import SymbiosisApp
from tui.cli import main, open_session
from tui.feed_runner import initial_market_and_feed

ROOT = Path(__file__).resolve().parent.parent
TS = 1_800_000_000_000


DEMO_LINES = (ROOT / "data" / "demo.jsonl").read_text(encoding="utf-8").splitlines()
T1 = json.loads(DEMO_LINES[0])["ts"] + 1_000  # one second into the demo


def tick(symbol: str, last: object, ts: int = T1) -> str:
    return json.dumps({"ts": ts, "type": "ticker", "data": {"symbol": symbol, "last": last}})


def event(kind: str, data: object, **extra: object) -> str:
    return json.dumps({"ts": T1, "type": kind, "data": data, **extra})


# Each is appended to the demo's first second: the first paint is fine, then bad data plays.
BAD_TAILS = {
    "negative-and-zero-prices": [tick("BTC/USDT", -70_000.0), tick("ETH/USDT", 0)],
    "timestamp-1e15": [tick("BTC/USDT", 1.0, 10**15), tick("ETH/USDT", 1.0)],
    "impossible-expiry": [tick("BTC/USDT:USDT-999999", 70_000.0)],
    "401-digit-price": [tick("BTC/USDT", 1.0).replace('"last": 1.0', '"last": ' + "9" * 401)],
    "wrong-shapes": [
        event("ticker", [1]),
        event("tiers", "x", symbol="BTC/USDT:USDT"),
        event("market", {"symbol": "[b]BTC/USDT"}),
    ],
    "markup-in-symbol-and-note": [
        event("ticker", {"symbol": "BTC/USDT[/]", "last": 1.0}, note="[red]made up[/"),
    ],
    "not-json-mid-play": [tick("BTC/USDT", 71_000.0), "{not json"],
}


def bad_replay(folder: Path, tail: list[str]) -> Path:
    first_ts = json.loads(DEMO_LINES[0])["ts"]
    head = [line for line in DEMO_LINES if json.loads(line)["ts"] == first_ts]
    path = folder / "bad.jsonl"
    path.write_text("\n".join(head + tail) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(BAD_TAILS))
async def test_the_app_plays_a_bad_replay_to_its_end_without_crashing(tmp_path, name):
    folder = make_workspace(tmp_path)
    replay = bad_replay(folder, BAD_TAILS[name])
    session = open_session(str(folder / "config.toml"), None, str(replay))
    market, feed, notice = initial_market_and_feed(session, replay_given=True)
    app = SymbiosisApp(session.config, session.loaded, market, feed, notice)
    said: list[tuple[str, str]] = []
    real_say = app.say

    def listening_say(text: str, severity: str = "information") -> None:
        said.append((text, severity))
        real_say(text, severity)

    app.say = listening_say  # type: ignore[method-assign]
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(60):
            await pilot.pause(0.1)
            if any("replay" in text for text, _ in said):
                break
        await pilot.pause(0.3)
        assert app.is_running
        assert app.report is not None
        await pilot.press("w")  # the notes screen shows the data note
        await pilot.pause()
    ended = [text for text, _ in said if "replay" in text]
    assert ended, said
    if name == "not-json-mid-play":
        assert ended[-1].startswith(f"replay stopped: {replay}:")
        assert ended[-1].endswith(
            "not valid JSON (Expecting property name enclosed in double quotes)"
        )
    else:
        assert ended[-1].startswith("replay bad.jsonl finished")
        assert "dropped bad data" in app.market.note


def test_a_replay_bad_from_its_first_line_exits_2_before_the_app_starts(tmp_path, capsys):
    folder = make_workspace(tmp_path)
    replay = folder / "bad.jsonl"
    replay.write_text(tick("BTC/USDT", -1.0, 10**15) + "\n", encoding="utf-8")
    assert main(["--config", str(folder / "config.toml"), "--replay", str(replay)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"symbiosis: {replay}: no usable market data in 1 events")
    assert "Traceback" not in err


# -- record -------------------------------------------------------------------------------------


def test_record_refuses_an_existing_file_and_leaves_it_whole(tmp_path, capsys):
    folder = make_workspace(tmp_path)
    out = folder / "kept.jsonl"
    out.write_text("precious\n", encoding="utf-8")
    session = open_session(str(folder / "config.toml"), None, None, market=False)
    code = record(session.config, session.loaded.portfolio, out, 0.1)
    assert code == 2
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert "exists; not overwritten (use --append" in capsys.readouterr().err


def test_record_exits_1_and_writes_no_file_when_nothing_was_recorded(tmp_path, capsys):
    folder = make_workspace(tmp_path)
    config = folder / "config.toml"
    config.write_text(config.read_text().replace('exchange = "binance"', 'exchange = "nowhere"'))
    out = folder / "rec.jsonl"
    assert main(["record", "--config", str(config), "--out", str(out), "--seconds", "0.5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("offline: nothing recorded from nowhere (ValueError: unknown exchange")
    assert not out.exists()


@pytest.mark.parametrize("seconds", ["1e308", "nan", "-1", "0"])
def test_record_refuses_absurd_durations(tmp_path, seconds, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["record", "--out", str(tmp_path / "r.jsonl"), "--seconds", seconds])
    assert caught.value.code == 2
    assert "--seconds must be" in capsys.readouterr().err


def test_the_event_writer_appends_only_when_asked_and_opens_only_on_the_first_event(tmp_path):
    out = tmp_path / "rec.jsonl"
    writer = EventWriter(out)
    writer.close()
    assert not out.exists()  # nothing recorded: no file
    out.write_text('{"old": 1}\n', encoding="utf-8")
    refusing = EventWriter(out)
    refusing({"ts": TS, "type": "ticker", "data": {}})
    assert isinstance(refusing.error, FileExistsError) and refusing.count == 0
    appending = EventWriter(out, append=True)
    appending({"ts": TS, "type": "ticker", "data": {}})
    appending.close()
    assert out.read_text(encoding="utf-8").splitlines() == [
        '{"old": 1}',
        '{"ts":1800000000000,"type":"ticker","data":{}}',
    ]
