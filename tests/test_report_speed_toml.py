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


# -- position rows: the plain fast path accepts only what _position accepts ------------------

NUMBERS = [0, -0.0, 0.0, 1, 1.0, 0.5, 2, 3.0, -1, -1.5, 999.0, 1000, 1000.5, 10**15, 10**15 + 1]
NUMBERS += [1e15, 1.5e15, 2**70, float("nan"), float("inf"), -float("inf"), True, "1", None]
TEXTS = ["", " ", "x", " x ", 1, None, True, "p-1", "long", "short", "isolated", "cross"]
SYMBOLS = ["BTC/USDT:USDT", "BTC/USDT:USDT-261225", "BTC/USDT:USDT-999999", "BTC/USD:BTC"]
SYMBOLS += ["BTC/USDT", "ETH/USDC:USDC", " BTC/USDT:USDT", "", 5]
FIELD_VALUES = {
    "id": st.sampled_from(["p-1", "", "  ", 7, None, "x y"]),
    "kind": st.sampled_from(["future", "basis", "spot", "", 1, None]),
    "symbol": st.sampled_from(SYMBOLS),
    "side": st.sampled_from(["long", "short", "Long", "", 1]),
    "size": st.sampled_from(NUMBERS),
    "entry_price": st.sampled_from(NUMBERS),
    "leverage": st.sampled_from(NUMBERS),
    "margin_mode": st.sampled_from(["isolated", "cross", "Cross", "", None]),
    "margin_usd": st.sampled_from(NUMBERS),
    "spot_qty": st.sampled_from(NUMBERS),
    "venue": st.sampled_from(["", " ", "binance", " bybit ", "okx", 3]),
    "note": st.sampled_from(["", "a note", "[b]x", 4, None]),
    "unknown_key": st.sampled_from([1, "x", [1, 2]]),
}
REQUIRED = {"id": "p-1", "symbol": "BTC/USDT:USDT", "side": "long", "size": 1.0}
REQUIRED |= {"entry_price": 60_000.0, "leverage": 2.0}


@st.composite
def rows(draw: st.DrawFn) -> dict:
    row = {} if draw(st.booleans()) else dict(REQUIRED)
    for key in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=6, unique=True)):
        row[key] = draw(FIELD_VALUES[key])
    return row


@settings(max_examples=1500, deadline=None)
@given(
    rows(),
    st.sampled_from(["hedge", "alpha"]),
    st.sampled_from([None, ("binance",), ("binance", "bybit")]),
)
def test_a_plainly_valid_row_reads_as_the_field_by_field_reader_reads_it(raw, book, venues):
    from core.config import _Fields, _plain_position, _position, _Source

    fast = _plain_position(raw, book, venues, {})
    source = _Source(Path("portfolio.toml"), "")
    table = {"hedge": "hedges", "alpha": "alpha"}[book]
    try:
        slow = _position(_Fields(source, raw, table, 0), book, venues)
    except ConfigError:
        assert fast is None, raw
        return
    if fast is not None:
        assert fast == slow
        assert dict(fast.extra) == dict(slow.extra)
        assert [
            type(getattr(fast, f)) for f in ("size", "entry_price", "leverage", "spot_qty")
        ] == [type(getattr(slow, f)) for f in ("size", "entry_price", "leverage", "spot_qty")]
        assert type(fast.margin_usd) is type(slow.margin_usd)


def test_every_row_of_a_generated_book_takes_the_plain_path(tmp_path):
    from core.config import _plain_position

    book = make_book(300)
    path = tmp_path / "portfolio.toml"
    save_portfolio(book.portfolio, path, None)
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    checks: dict = {}
    for table, name in (("hedges", "hedge"), ("alpha", "alpha")):
        for raw in document[table]:
            assert _plain_position(raw, name, ("binance",), checks) is not None, raw
    # One check per contract, however many rows name it.
    assert len(checks) == len({p.symbol for p in book.portfolio.positions})
