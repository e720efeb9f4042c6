"""`symbiosis report` end to end on the bundled demo replay (deterministic, no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config, load_portfolio
from core.engine import compute
from core.feeds.replay_file import load_replay_end
from tests.test_properties import DESIGN_KEYS
from tui.cli import main

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "data" / "demo.jsonl"
CONFIG = PROJECT / "config.toml"


def run_cli(*args: str, env: dict[str, str] | None = None, stdout: int | None = subprocess.PIPE):
    """The installed entry point's code in a child process, offline."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())", *args],
        cwd=PROJECT,
        env={**os.environ, "SYMBIOSIS_OFFLINE": "1", **(env or {})},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )


def expected_report(shock: float = 0.0):
    config = load_config(CONFIG)
    return compute(
        load_portfolio(config.portfolio_path).portfolio,
        load_replay_end(DEMO),
        shock,
        config.settings,
    )


def test_json_report_on_the_demo_has_the_design_keys_and_the_engine_figures(capsys):
    assert main(["report", "--replay", str(DEMO), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for section, keys in DESIGN_KEYS.items():
        rows = doc[section] if isinstance(doc[section], list) else [doc[section]]
        assert rows, section
        for row in rows:
            assert keys <= set(row), (section, keys - set(row))
    for name in ("core", "hedge", "alpha"):
        assert set(doc["allocation"][name]) == {"pct", "band", "in_band"}
    assert doc["totals"]["health"] in ("ok", "warn", "danger")
    assert doc["feed_status"] == "replay"
    # The demo crosses no threshold of the bundled [alerts]; the rest of the document is
    # exactly the engine's report for the bundled config and portfolio.
    assert doc.pop("alerts") == []
    assert doc == json.loads(json.dumps(expected_report().to_json()))
    assert {p["id"] for p in doc["positions"]} == {"h-btc", "a-eth"}


def test_shock_flag_runs_the_what_if(capsys):
    assert main(["report", "--replay", str(DEMO), "--json", "--shock", "-10"]) == 0
    scenario = json.loads(capsys.readouterr().out)["scenario"]
    expected = expected_report(-10.0).scenario
    assert scenario["shock_pct"] == -10.0
    assert scenario["pnl_usd"] == pytest.approx(expected.pnl_usd)
    assert scenario["pnl_usd"] != 0.0
    assert scenario["liquidated"] == list(expected.liquidated)
    # "-10%" is accepted too.
    assert main(["report", "--replay", str(DEMO), "--json", "--shock", "-10%"]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"]["shock_pct"] == -10.0


@pytest.mark.parametrize("bad", ["abc", "-100", "nan"])
def test_bad_shock_is_a_usage_error(bad: str, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["report", "--replay", str(DEMO), "--shock", bad])
    assert exited.value.code == 2
    assert "--shock" in capsys.readouterr().err


def replay_config(tmp_path: Path, portfolio_text: str | None = None) -> Path:
    portfolio = tmp_path / "portfolio.toml"
    portfolio.write_text(
        portfolio_text or (PROJECT / "portfolio.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[portfolio]\npath = "portfolio.toml"\n[feed]\nkind = "replay"\nreplay = "{DEMO}"\n',
        encoding="utf-8",
    )
    return config


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""


def test_malformed_portfolio_exits_2_with_file_line_and_key(tmp_path: Path):
    text = (PROJECT / "portfolio.toml").read_text(encoding="utf-8")
    config = replay_config(tmp_path, text.replace("size = 0.5", "size = -0.5", 1))
    line = 1 + text.splitlines().index("size = 0.5")
    result = run_cli("report", "--config", str(config), "--json")
    assert_one_line_error(
        result, f"{tmp_path / 'portfolio.toml'}:{line}: hedges[0].size: must be > 0"
    )


def test_portfolio_that_is_not_toml_exits_2(tmp_path: Path):
    config = replay_config(tmp_path, "[account]\ncollateral_usd = = 1\n")
    result = run_cli("report", "--config", str(config))
    assert_one_line_error(result, "portfolio.toml:2: collateral_usd: invalid TOML")


def test_malformed_config_exits_2_with_file_line_and_key(tmp_path: Path):
    config = replay_config(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8") + "[alerts]\nmargin_ratio_warn = 0.9\n"
        "margin_ratio_danger = 0.8\n",
        encoding="utf-8",
    )
    result = run_cli("report", "--config", str(config), "--replay", str(DEMO))
    assert_one_line_error(result, "config.toml:8: alerts.margin_ratio_danger: must be above")


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ("{not json", ("bad.jsonl:2: not valid JSON",)),
        ('{"ts": 1, "type": "quote", "data": {}}', ("bad.jsonl:2: key 'type'",)),
        ('{"ts": "x", "type": "ticker", "data": {}}', ("bad.jsonl:2: key 'ts'",)),
        ('{"ts": true, "type": "ticker", "data": {}}', ("bad.jsonl:2: key 'ts'",)),
        ("[1, 2]", ("bad.jsonl:2: expected a JSON object",)),
    ],
)
def test_malformed_replay_exits_2_with_one_line(tmp_path: Path, line: str, fragments):
    replay = tmp_path / "bad.jsonl"
    first = DEMO.read_text(encoding="utf-8").splitlines()[0]
    replay.write_text(f"{first}\n{line}\n", encoding="utf-8")
    result = run_cli("report", "--config", str(replay_config(tmp_path)), "--replay", str(replay))
    assert_one_line_error(result, *fragments)


def test_missing_replay_file_exits_2(tmp_path: Path):
    result = run_cli("report", "--replay", str(tmp_path / "none.jsonl"))
    assert_one_line_error(result, "none.jsonl")


@pytest.mark.parametrize("json_flag", [True, False])
def test_a_closed_pipe_does_not_print_a_traceback(json_flag: bool):
    # A pipe whose reading end is already closed: the first write fails with EPIPE, exactly
    # what `symbiosis report --json | head -1` does once head has exited.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        args = ["report", "--replay", str(DEMO), *(["--json"] if json_flag else [])]
        result = run_cli(*args, stdout=write_end)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr
    assert result.returncode == 1


def test_head_of_the_json_report_is_clean():
    shell = (
        f"{sys.executable} -c 'import sys; from tui.cli import main; sys.exit(main())' "
        f"report --json --replay {DEMO} | head -1"
    )
    result = subprocess.run(
        ["sh", "-c", shell],
        cwd=PROJECT,
        env={**os.environ, "SYMBIOSIS_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout == "{\n"
    assert result.stderr == ""


def test_human_table_is_readable_at_80_columns():
    result = run_cli("report", "--replay", str(DEMO), env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout  # nothing truncated
    for text in ("h-btc", "a-eth", "BTC/USDT:USDT", "ETH/USDT:USDT", "liq. price", "Funding"):
        assert text in result.stdout
    report = expected_report()
    liquidation = report.position("a-eth").liquidation_price
    assert f"{liquidation:,.2f}" in result.stdout
    assert f"{report.totals.equity:,.2f}" in result.stdout
    for basis in report.basis:
        assert basis.symbol in result.stdout
