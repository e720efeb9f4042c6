"""The plain-TOML reader (core.plain_toml) reads what tomllib reads, or gives way to it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.generate import make_book
from core.config import ConfigError, load_portfolio, save_portfolio
from core.plain_toml import read_plain_toml

ROOT = Path(__file__).resolve().parent.parent


def ordered(value: object) -> str:
    """Values and key order alike: tomllib's dicts keep the order keys were written in."""
    return json.dumps(value, allow_nan=True)


def agrees_with_tomllib(text: str) -> bool:
    """None, or exactly tomllib's document (and tomllib reads the text without error)."""
    plain = read_plain_toml(text)
    if plain is None:
        return True
    expected = tomllib.loads(text)  # raises if the reader took a text tomllib refuses
    assert ordered(plain) == ordered(expected), text
    return True


def test_the_files_the_app_writes_are_read_by_the_plain_reader(tmp_path):
    book = make_book(200)
    path = tmp_path / "portfolio.toml"
    save_portfolio(book.portfolio, path, None)
    text = path.read_text(encoding="utf-8")
    plain = read_plain_toml(text)
    assert plain is not None
    assert ordered(plain) == ordered(tomllib.loads(text))
    loaded = load_portfolio(path).portfolio
    # Rows come back book by book (hedges, then alpha), each in the order written.
    assert sorted(loaded.positions, key=lambda p: p.id) == sorted(
        book.portfolio.positions, key=lambda p: p.id
    )
    assert loaded.holdings == book.portfolio.holdings
    bundled = (ROOT / "portfolio.toml").read_text(encoding="utf-8")
    assert read_plain_toml(bundled) == tomllib.loads(bundled)


def test_values_outside_the_plain_subset_go_to_tomllib():
    for text in (
        'a = "tab\\tescaped"',  # an escape
        "a = 'literal'",
        'a = """multi"""',
        "a = [1, 2]",
        "a = {b = 1}",
        "a = 1_000",
        "a = 0x1f",
        "a = inf",
        "a = nan",
        "a = 1979-05-27",
        "a = 07:32:00",
        "a.b = 1",
        '"a" = 1',
        "[a.b]",
        "[ a ]",
        "a = 1\r\nb = 2",
        "a = 1" + "0" * 200,
    ):
        assert read_plain_toml(text) is None, text


def test_what_tomllib_refuses_the_plain_reader_leaves_to_it(tmp_path):
    for text in (
        "a = 1\na = 2",  # a key written twice
        "[t]\n[t]",  # a table declared twice
        "[t]\n[[t]]",
        "[[t]]\n[t]",
        "t = 1\n[[t]]",
        "t = 1\n[t]",
        "a = 01",
        "a = 1.",
        "a = .5",
        "a = 1e",
        "a = True",
        'a = "x" b',
        "a = # nothing",
        "a = 1 # bell \x07",
        'a = "nul \x00"',
        "= 1",
        "[t",
        "[[t]",
    ):
        assert read_plain_toml(text) is None, repr(text)
    # Through the loader, tomllib's message is the one a person sees.
    path = tmp_path / "portfolio.toml"
    path.write_text("[account]\ncollateral_usd = 1\ncollateral_usd = 2\n", encoding="utf-8")
    try:
        load_portfolio(path)
    except ConfigError as exc:
        assert str(exc) == (f"{path}:3: collateral_usd: invalid TOML (Cannot overwrite a value)")
    else:
        raise AssertionError("a key written twice was accepted")


KEYS = st.sampled_from(["a", "b", "id", "size", "x-1", "_k", "a b", "é", "", '"a"', "a.b"])
VALUES = st.sampled_from(
    [
        '"text"',
        '""',
        '"with # hash"',
        '"ünï"',
        '"quote \\" inside"',
        '"back\\\\slash"',
        "'lit'",
        "0",
        "-0",
        "+1",
        "12",
        "012",
        "1.5",
        "-0.0",
        "1e5",
        "1E+05",
        "2.5e-3",
        "1.",
        "1_0",
        "0x10",
        "inf",
        "-nan",
        "true",
        "false",
        "True",
        "[1]",
        "{a = 1}",
        "2024-01-01",
        "",
    ]
)
HEADERS = st.sampled_from(["[t]", "[[t]]", "[u]", "[[u]]", "[a]", "[[a]]", "[ t ]", "[t.u]"])
BLANKS = st.sampled_from(["", " ", "\t", "  \t"])
COMMENTS = st.sampled_from(["", "# c", " # note", "#", "# \t tab", "# bell \x07"])


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["pair", "pair", "pair", "header", "comment", "blank", "raw"]))
    lead, trail = draw(BLANKS), draw(BLANKS)
    if kind == "pair":
        key, value = draw(KEYS), draw(VALUES)
        return f"{lead}{key}{draw(BLANKS)}={draw(BLANKS)}{value}{trail}{draw(COMMENTS)}"
    if kind == "header":
        return f"{lead}{draw(HEADERS)}{trail}{draw(COMMENTS)}"
    if kind == "comment":
        return f"{lead}{draw(COMMENTS)}"
    if kind == "blank":
        return lead
    return draw(st.text(alphabet='ab=[]."# \t\r1', max_size=8))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines(), max_size=12), st.booleans())
def test_any_document_of_near_plain_lines_reads_as_tomllib_reads_it(body, final_newline):
    text = "\n".join(body) + ("\n" if final_newline else "")
    assert agrees_with_tomllib(text)
