"""Load config.toml and portfolio.toml with field-level validation; save atomically.

Every error names the file, the line where the key is written (when it can be
found) and the key, e.g. ``portfolio.toml:14: hedges[0].size: must be > 0``.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import tomli_w

from core.feeds.state import symbol_problem
from core.model import (
    BOOKS,
    MARGIN_MODES,
    SIDES,
    Holding,
    Portfolio,
    Position,
    Settings,
    frozen_map,
    is_inverse_symbol,
)
from core.plain_toml import read_plain_toml

FEED_KINDS = ("ccxt", "replay")
HOLDING_KEYS = ("asset", "qty", "cost_usd", "venue", "note")
POSITION_KEYS = (
    "id",
    "kind",
    "spot_qty",
    "symbol",
    "side",
    "size",
    "entry_price",
    "leverage",
    "margin_mode",
    "margin_usd",
    "venue",
    "note",
)
BOOK_TABLES = {"hedge": "hedges", "alpha": "alpha"}
# The top level of portfolio.toml, as written: anything else is a typo that would
# make a book vanish from every figure, so it is refused with the nearest name.
PORTFOLIO_TABLES = {
    "account": "[account]",
    "accounts": "[accounts.<venue>]",
    "holdings": "[[holdings]]",
    "hedges": "[[hedges]]",
    "alpha": "[[alpha]]",
}
# Far beyond any real book, well inside float range: garbage such as a 401-digit
# number is refused instead of turning every figure into inf or nan.
MAX_AMOUNT = 1e15
MAX_LEVERAGE = 1000.0
MAX_REFRESH_S = 3600.0
MAX_STALE_AFTER_S = 7 * 86400.0
# Extra keys inside a row are kept and written back; a table nested deeper than
# this is refused at load (tomli-w recurses on nesting: a deep one cannot be saved).
MAX_EXTRA_DEPTH = 16
# The first line of a file the app writes, and its last: a file that starts with
# HEADER but lacks END was cut short (an old save torn by a crash or a full disk).
HEADER = '# portfolio.toml, written by Symbiosis: comments are not kept (use note = "...")'
END = "# end of portfolio.toml"


class ConfigError(ValueError):
    """A file that cannot be used; the message names file, line and key."""


class SaveConflictError(RuntimeError):
    """The file on disk changed since it was loaded; nothing was written."""


@dataclass(frozen=True)
class FeedConfig:
    kind: str = "replay"
    exchange: str = "binance"
    # Every venue followed, the default (first) one included.
    exchanges: tuple[str, ...] = ("binance",)
    symbols: tuple[str, ...] = ()
    refresh_s: float = 5.0
    replay: Path | None = None
    stale_after_s: float = 120.0


@dataclass(frozen=True)
class AppConfig:
    """config.toml, resolved: paths are absolute."""

    path: Path
    portfolio_path: Path
    feed: FeedConfig
    settings: Settings
    theme: str = "symbiosis-dark"
    # [keys]: binding id -> keys (a user keymap, applied with App.set_keymap).
    keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedPortfolio:
    """A portfolio with the fingerprint of the bytes it was read from."""

    portfolio: Portfolio
    path: Path
    fingerprint: str
    extra: Mapping[str, Any] = field(default_factory=dict)


def fingerprint_of(path: Path) -> str:
    """sha256 of the file's bytes ('' when it does not exist)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


class _Source:
    """Raw TOML text of a file, to point errors at the line of a key."""

    def __init__(self, path: Path, text: str, fingerprint: str = "") -> None:
        self.path = path
        self.lines = text.splitlines()
        self.fingerprint = fingerprint

    def top_line(self, name: str) -> int | None:
        """Line (1-based) where a top-level key or table `name` is first written."""
        pattern = re.compile(
            rf"^\s*(\[\[?\s*\"?{re.escape(name)}\"?\s*[\].]|\"?{re.escape(name)}\"?\s*[=.])"
        )
        return next((i + 1 for i, line in enumerate(self.lines) if pattern.match(line)), None)

    def line_of(self, table: str | None, index: int | None, key: str | None) -> int | None:
        """Line (1-based) of `key` in the index-th [[table]] (or [table])."""
        start, end = 0, len(self.lines)
        if table is not None:
            header = re.compile(
                rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]"
                if index is not None
                else rf"^\s*\[\s*{re.escape(table)}\s*\]"
            )
            found = [i for i, line in enumerate(self.lines) if header.match(line)]
            position = index or 0
            if position >= len(found):
                return None
            start = found[position]
            end = next(
                (
                    i
                    for i in range(start + 1, len(self.lines))
                    if self.lines[i].lstrip().startswith("[")
                ),
                len(self.lines),
            )
            if key is None:
                return start + 1
        if key is None:
            return None
        if table is None:
            # Top-level keys are only those written before the first [table] header.
            end = next(
                (i for i, line in enumerate(self.lines) if line.lstrip().startswith("[")),
                len(self.lines),
            )
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for i in range(start, end):
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1 if table is not None else None

    def error(
        self, message: str, table: str | None, index: int | None, key: str | None
    ) -> ConfigError:
        line = self.line_of(table, index, key)
        where = f"{self.path}:{line}" if line else f"{self.path}"
        name = table or ""
        if index is not None:
            name += f"[{index}]"
        if key:
            name = f"{name}.{key}" if name else key
        return ConfigError(f"{where}: {name}: {message}")


def _read_toml(path: Path) -> tuple[dict[str, Any], _Source]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a folder, not a file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    text = _decode(path, raw)
    # The files the app writes are plain TOML, read in a fraction of tomllib's time;
    # tomllib reads any other file, and says what is wrong with a bad one.
    plain = read_plain_toml(text)
    if plain is not None:
        return plain, _Source(path, text, hashlib.sha256(raw).hexdigest())
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error_message(path, text, exc)) from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: invalid TOML (arrays or tables nested too deeply)") from exc
    except ValueError as exc:
        # Python refuses to read an integer of more than 4,300 digits.
        raise ConfigError(f"{path}: invalid TOML ({str(exc)[:120]})") from exc
    return data, _Source(path, text, hashlib.sha256(raw).hexdigest())


def finite_float(value: Any) -> float | None:
    """`value` as a finite float; None for nan, inf or a number too large for a float."""
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _shown(value: Any, limit: int = 60) -> str:
    """repr of a user's value, cut short: a message stays one readable line."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long for repr
        return "a number too large"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _decode(path: Path, raw: bytes) -> str:
    """The file's text; UTF-16 and invalid UTF-8 are refused with the line of the fault."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}:1: the file is UTF-16 text; save it as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark (some Windows editors write one)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise ConfigError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{byte}); save the file as UTF-8"
        ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ConfigError(f"{path}:{line}: contains NUL bytes (UTF-16 text?); save it as UTF-8")
    return text


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$")


def _toml_error_message(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """'file:line: key: invalid TOML (reason)', from tomllib's '(at line N, column M)'."""
    reason = str(exc)
    match = _TOML_POSITION.search(reason)
    line = None
    if match:
        reason = reason[: match.start()]
        line = int(match.group(1)) if match.group(1) else len(text.splitlines()) or 1
    if line is None:
        return f"{path}: invalid TOML ({reason})"
    source_line = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
    key = source_line.split("=", 1)[0].strip() if "=" in source_line else ""
    where = f"{path}:{line}: {key}: " if key else f"{path}:{line}: "
    return f"{where}invalid TOML ({reason})"


class _Fields:
    """Typed accessors for one table of a TOML file, raising located errors."""

    def __init__(
        self, source: _Source, data: Mapping[str, Any], table: str | None, index: int | None = None
    ) -> None:
        self.source, self.data, self.table, self.index = source, data, table, index

    def fail(self, key: str | None, message: str) -> ConfigError:
        return self.source.error(message, self.table, self.index, key)

    @overload
    def number(
        self,
        key: str,
        default: float,
        *,
        required: bool = False,
        minimum: float | None = None,
        positive: bool = False,
        maximum: float | None = None,
        below: float | None = None,
        at_most: float | None = None,
    ) -> float: ...

    @overload
    def number(
        self,
        key: str,
        default: None = None,
        *,
        required: Literal[True],
        minimum: float | None = None,
        positive: bool = False,
        maximum: float | None = None,
        below: float | None = None,
        at_most: float | None = None,
    ) -> float: ...

    @overload
    def number(
        self,
        key: str,
        default: None = None,
        *,
        required: bool = False,
        minimum: float | None = None,
        positive: bool = False,
        maximum: float | None = None,
        below: float | None = None,
        at_most: float | None = None,
    ) -> float | None: ...

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        required: bool = False,
        minimum: float | None = None,
        positive: bool = False,
        maximum: float | None = None,
        below: float | None = None,
        at_most: float | None = None,
    ) -> float | None:
        if key not in self.data:
            if required:
                raise self.fail(key, "is missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, not {_shown(value)}")
        value = finite_float(value)
        if value is None:
            raise self.fail(key, "must be a finite number")
        if positive and value <= 0:
            raise self.fail(key, f"must be > 0 (got {value:g})")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be >= {minimum:g} (got {value:g})")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"must be <= {maximum:g}, a fraction (got {value:g})")
        if below is not None and value >= below:
            raise self.fail(key, f"must be < {below:g}, a fraction (got {value:g})")
        if at_most is not None and value > at_most:
            raise self.fail(key, f"must be <= {at_most:g} (got {value:g})")
        if abs(value) > MAX_AMOUNT:
            raise self.fail(key, f"is too large (the limit is {MAX_AMOUNT:g})")
        return value

    @overload
    def text(
        self, key: str, default: str, *, required: bool = False, choices: tuple[str, ...] = ()
    ) -> str: ...

    @overload
    def text(
        self,
        key: str,
        default: None = None,
        *,
        required: Literal[True],
        choices: tuple[str, ...] = (),
    ) -> str: ...

    @overload
    def text(
        self,
        key: str,
        default: None = None,
        *,
        required: bool = False,
        choices: tuple[str, ...] = (),
    ) -> str | None: ...

    def text(
        self,
        key: str,
        default: str | None = None,
        *,
        required: bool = False,
        choices: tuple[str, ...] = (),
    ) -> str | None:
        if key not in self.data:
            if required:
                raise self.fail(key, "is missing")
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, not {_shown(value)}")
        if choices and value not in choices:
            raise self.fail(
                key, f"must be one of {', '.join(repr(c) for c in choices)} (got {_shown(value)})"
            )
        return value

    def note(self, key: str) -> str:
        """A free-text string (may be empty, may hold any character)."""
        value = self.data.get(key, "")
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {_shown(value)}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a list of strings")
        return tuple(value)


def _table(source: _Source, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise source.error("must be a table", None, None, name)
    return value


def _array_of_tables(
    source: _Source, data: Mapping[str, Any], name: str
) -> list[Mapping[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise source.error(f"must be an array of tables ([[{name}]])", None, None, name)
    return value


def check_futures_symbol(symbol: str) -> str | None:
    """Why a symbol is not a supported (linear) futures symbol, or None."""
    if "/" not in symbol or ":" not in symbol:
        return f"must be a ccxt futures symbol like 'BTC/USDT:USDT' (got {symbol!r})"
    problem = symbol_problem(symbol)
    if problem:
        return f"{symbol!r}: {problem}"
    if is_inverse_symbol(symbol):
        return (
            f"{symbol!r} is an inverse (coin-settled) contract; only linear "
            "USDT/USDC-settled contracts are supported"
        )
    return None


def _position(fields: _Fields, book: str, venues: tuple[str, ...] | None = None) -> Position:
    kind = fields.text("kind", "future", choices=("future", "basis"))
    if kind == "basis" and book != "alpha":
        raise fields.fail("kind", "basis trades belong in [[alpha]]")
    symbol = fields.text("symbol", required=True)
    problem = check_futures_symbol(symbol)
    if problem:
        raise fields.fail("symbol", problem)
    return Position(
        id=fields.text("id", required=True),
        book=book,  # type: ignore[arg-type]
        symbol=symbol,
        side=fields.text("side", required=True, choices=SIDES),  # type: ignore[arg-type]
        size=fields.number("size", required=True, positive=True),
        entry_price=fields.number("entry_price", required=True, positive=True),
        # No exchange offers less than 1x; below it, margin would exceed the notional.
        leverage=fields.number(
            "leverage", required=True, positive=True, minimum=1.0, at_most=MAX_LEVERAGE
        ),
        margin_mode=fields.text("margin_mode", "isolated", choices=MARGIN_MODES),  # type: ignore[arg-type]
        margin_usd=fields.number("margin_usd", positive=True),
        kind=kind,  # type: ignore[arg-type]
        spot_qty=fields.number("spot_qty", 0.0, minimum=0.0, required=kind == "basis") or 0.0,
        venue=_venue(fields, venues),
        note=fields.note("note"),
        extra=_extra(fields, POSITION_KEYS),
    )


def _extra(fields: _Fields, known: tuple[str, ...]) -> Mapping[str, Any]:
    """Keys of a row the app does not use, kept so that a save never drops them."""
    extra = {k: v for k, v in fields.data.items() if k not in known}
    for key, value in extra.items():
        if _depth(value) > MAX_EXTRA_DEPTH:
            raise fields.fail(
                key, f"nested more than {MAX_EXTRA_DEPTH} levels deep; keep extra keys simple"
            )
    return frozen_map(extra)


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in `value` (0 for a plain value); no recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: list[Any] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            deepest = max(deepest, level)
            continue
        deepest = max(deepest, level + 1)
        if level + 1 > MAX_EXTRA_DEPTH:
            return level + 1
        stack.extend((child, level + 1) for child in children)
    return deepest


def _venue(fields: _Fields, venues: tuple[str, ...] | None) -> str:
    """A row's venue: '' (the default venue) when absent or empty; one that is followed."""
    value = fields.data.get("venue", "")
    if not isinstance(value, str):
        raise fields.fail("venue", f"must be a string, not {_shown(value)}")
    venue = value.strip()
    if venue and venues is not None and venue not in venues:
        followed = ", ".join(venues)
        raise fields.fail(
            "venue",
            f"{venue!r} is not followed ([feed] exchanges: {followed}){_hint(venue, venues)}",
        )
    return venue


def _hint(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_top_level(source: _Source, data: Mapping[str, Any]) -> None:
    """Refuse a top-level table or key portfolio.toml does not have (a misspelt book)."""
    for name, value in data.items():
        if name in PORTFOLIO_TABLES:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            written = f"[[{name}]]"
        elif isinstance(value, dict):
            written = f"[{name}]"
        else:
            written = f"key {name!r}"
        close = difflib.get_close_matches(name, list(PORTFOLIO_TABLES), n=1, cutoff=0.5)
        hint = f"; did you mean {PORTFOLIO_TABLES[close[0]]}?" if close else ""
        known = ", ".join(PORTFOLIO_TABLES.values())
        line = source.top_line(name)
        where = f"{source.path}:{line}" if line else f"{source.path}"
        raise ConfigError(f"{where}: {name}: unknown {written} (known: {known}){hint}")


def _check_whole(source: _Source, data: Mapping[str, Any]) -> None:
    """An empty file, or one the app wrote whose end marker is missing, is refused."""
    if not data:
        raise ConfigError(
            f"{source.path}: the file is empty; restore it from {source.path.name}.bak "
            "or write an [account] table"
        )
    # END is the last thing a save writes: a file of ours without it was cut short
    # (rows a user appends after it are fine). Usually it is the last line: look there first.
    first = next((line for line in map(str.strip, source.lines) if line), None)
    if first != HEADER:
        return
    last = next((line for line in map(str.strip, reversed(source.lines)) if line), None)
    if last != END and END not in map(str.strip, source.lines):
        raise ConfigError(
            f"{source.path}:{len(source.lines)}: the file is cut short (its end line "
            f"{END!r} is missing): a save was interrupted; restore it from a backup"
        )


def load_portfolio(path: str | Path, venues: tuple[str, ...] | None = None) -> LoadedPortfolio:
    """Read and validate portfolio.toml.

    `venues` (the followed exchanges, the default one first) refuses a row on any
    other venue; None skips that check.
    """
    path = Path(path)
    data, source = _read_toml(path)
    _check_whole(source, data)
    _check_top_level(source, data)
    account = _Fields(source, _table(source, data, "account"), "account")
    collateral = account.number("collateral_usd", 0.0, minimum=0.0)
    holdings = []
    seen_assets: set[str] = set()
    for i, raw in enumerate(_array_of_tables(source, data, "holdings")):
        f = _Fields(source, raw, "holdings", i)
        asset = f.text("asset", required=True)
        if asset in seen_assets:
            raise f.fail("asset", f"{asset!r} is listed twice; merge the two holdings")
        seen_assets.add(asset)
        holdings.append(
            Holding(
                asset=asset,
                qty=f.number("qty", required=True, minimum=0.0),
                cost_usd=f.number("cost_usd", minimum=0.0),
                venue=_venue(f, venues),
                note=f.note("note"),
                extra=_extra(f, HOLDING_KEYS),
            )
        )
    positions = []
    seen_ids: dict[str, str] = {}
    for book in BOOKS:
        table = BOOK_TABLES[book]
        for i, raw in enumerate(_array_of_tables(source, data, table)):
            f = _Fields(source, raw, table, i)
            position = _position(f, book, venues)
            if position.id in seen_ids:
                raise f.fail(
                    "id", f"{position.id!r} is already used in [[{seen_ids[position.id]}]]"
                )
            seen_ids[position.id] = table
            positions.append(position)
    accounts_table = _table(source, data, "accounts")
    accounts: dict[str, float] = {}
    for venue, raw in accounts_table.items():
        if not isinstance(raw, dict):
            raise source.error("must be a table", "accounts", None, venue)
        wallet = _Fields(source, raw, f"accounts.{venue}")
        if venues is not None and venue not in venues:
            raise wallet.fail(
                None,
                f"venue {venue!r} is not followed ([feed] exchanges: {', '.join(venues)})"
                + _hint(venue, venues),
            )
        accounts[venue] = wallet.number("collateral_usd", 0.0, minimum=0.0) or 0.0
    portfolio = Portfolio(
        collateral_usd=collateral or 0.0,
        accounts=frozen_map(accounts),
        holdings=tuple(holdings),
        positions=tuple(positions),
        account_extra=_extra(account, ("collateral_usd",)),
    )
    return LoadedPortfolio(portfolio, path, source.fingerprint, frozen_map({}))


def portfolio_document(
    portfolio: Portfolio, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The TOML document (as dicts) of a portfolio, in the design's format."""
    doc: dict[str, Any] = {
        "account": {"collateral_usd": portfolio.collateral_usd, **portfolio.account_extra}
    }
    if portfolio.accounts:
        doc["accounts"] = {
            venue: {"collateral_usd": wallet} for venue, wallet in portfolio.accounts.items()
        }
    doc["holdings"] = [
        {
            "asset": h.asset,
            "qty": h.qty,
            **({"cost_usd": h.cost_usd} if h.cost_usd is not None else {}),
            **({"venue": h.venue} if h.venue else {}),
            **({"note": h.note} if h.note else {}),
            **h.extra,
        }
        for h in portfolio.holdings
    ]
    for book, table in BOOK_TABLES.items():
        rows = []
        for p in portfolio.book(book):  # type: ignore[arg-type]
            row: dict[str, Any] = {"id": p.id}
            if p.kind == "basis":
                row.update(kind="basis", spot_qty=p.spot_qty)
            row.update(
                symbol=p.symbol,
                side=p.side,
                size=p.size,
                entry_price=p.entry_price,
                leverage=p.leverage,
                margin_mode=p.margin_mode,
            )
            if p.margin_usd is not None:
                row["margin_usd"] = p.margin_usd
            if p.venue:
                row["venue"] = p.venue
            if p.note:
                row["note"] = p.note
            row.update(p.extra)
            rows.append(row)
        doc[table] = rows
    for key, value in (extra or {}).items():
        doc.setdefault(key, value)
    return doc


def render_portfolio(doc: Mapping[str, Any]) -> str:
    """TOML text in the design's layout: [account], then one [[table]] per row.

    tomli-w alone writes short rows as inline tables; hand-edited files read
    better with a header per row, so rows are written one by one.
    """
    known = {"account", "accounts", "holdings", *BOOK_TABLES.values()}
    others = {k: v for k, v in doc.items() if k not in known}
    # Everything but plain tables goes before the first header: a key written
    # after a header would belong to that table.
    plain = {k: v for k, v in others.items() if not isinstance(v, dict)}
    chunks = [tomli_w.dumps(plain)] if plain else []
    chunks.append(tomli_w.dumps({"account": doc["account"]}))
    if doc.get("accounts"):
        chunks.append(tomli_w.dumps({"accounts": doc["accounts"]}))
    for table in ("holdings", *BOOK_TABLES.values()):
        rows = doc.get(table) or []
        if any(isinstance(v, dict) for row in rows for v in row.values()):
            chunks.append(tomli_w.dumps({table: rows}))  # nested tables need tomli-w's layout
            continue
        chunks.extend(f"[[{table}]]\n{tomli_w.dumps(row)}" for row in rows)
    tables = {k: v for k, v in others.items() if isinstance(v, dict)}
    if tables:
        chunks.append(tomli_w.dumps(tables))
    return f"{HEADER}\n" + "\n".join(chunks) + f"\n{END}\n"


class SaveError(OSError):
    """The file could not be written (full disk, read-only folder); nothing was replaced."""


def save_portfolio(
    portfolio: Portfolio,
    path: str | Path,
    expected_fingerprint: str | None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Write portfolio.toml atomically; return the new file's fingerprint.

    Refuses (SaveConflictError) when the file on disk is not the one that was
    loaded (`expected_fingerprint`; '' means "must not exist yet", None skips
    the check). The previous file is kept as `<name>.bak`, itself written
    atomically, so a kill or a full disk at any point leaves both files whole.
    A symlinked file is written through the link (the link stays a link).
    Raises SaveError, with nothing replaced, when the disk refuses the write.
    """
    path = _save_target(Path(path))
    if expected_fingerprint is not None:
        current = fingerprint_of(path)
        if current != expected_fingerprint:
            raise SaveConflictError(
                f"{path} changed on disk since it was loaded; not overwritten "
                "(reload it, or save under another name)"
            )
    try:
        payload = render_portfolio(portfolio_document(portfolio, extra)).encode("utf-8")
    except (RecursionError, TypeError, ValueError) as exc:
        raise SaveError(f"{path}: cannot be written as TOML ({str(exc)[:120]}); not saved") from exc
    directory = path.parent
    remove_leftover_temp_files(path)
    backup = path.with_name(path.name + ".bak")
    temps: list[str] = []
    try:
        mode = _mode_of(path)
        temps.append(_write_temp(directory, path.name, payload, mode))
        previous = _read_if_present(path)
        if previous is not None and previous.strip():
            # An empty previous file never replaces a good backup.
            temps.append(_write_temp(directory, backup.name, previous, mode))
            os.replace(temps[-1], backup)
            temps.pop()
        os.replace(temps[0], path)
        temps.clear()
    except OSError as exc:
        raise SaveError(
            exc.errno, f"{path}: not saved ({exc.strerror or exc}); the file on disk is unchanged"
        ) from exc
    finally:
        for name in temps:
            _unlink_quietly(Path(name))
    _fsync_directory(directory)
    return hashlib.sha256(payload).hexdigest()


def _save_target(path: Path) -> Path:
    """The file a save writes: a symlink's target (so the link stays a link)."""
    return path.resolve() if path.is_symlink() else path


def temp_file_pattern(path: Path) -> str:
    """Glob of the temporary files saves of `path` (and of its backup) write beside it."""
    return f".{path.name}.*.tmp"


def remove_leftover_temp_files(path: str | Path) -> None:
    """Delete temporary files that interrupted saves of `path` left in its folder."""
    path = _save_target(Path(path))
    try:
        leftovers = list(path.parent.glob(temp_file_pattern(path)))
    except OSError:
        return
    for leftover in leftovers:
        _unlink_quietly(leftover)


def _write_temp(directory: Path, name: str, payload: bytes, mode: int | None) -> str:
    """A new temporary file beside `name` holding `payload`, flushed to disk; its path."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(payload)
            temp.flush()
            os.fsync(temp.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
    except BaseException:
        _unlink_quietly(Path(temp_name))
        raise
    return temp_name


def _mode_of(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return None


def _read_if_present(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_config(path: str | Path) -> AppConfig:
    """Read and validate config.toml; relative paths resolve from its folder."""
    path = Path(path).resolve()
    data, source = _read_toml(path)
    folder = path.parent
    portfolio = _Fields(source, _table(source, data, "portfolio"), "portfolio")
    portfolio_path = folder / portfolio.text("path", "portfolio.toml")
    feed_fields = _Fields(source, _table(source, data, "feed"), "feed")
    replay = feed_fields.text("replay")
    exchanges = feed_fields.strings("exchanges")
    if "exchanges" in feed_fields.data and not exchanges:
        raise feed_fields.fail("exchanges", "must name at least one exchange")
    exchanges = exchanges or (feed_fields.text("exchange", "binance") or "binance",)
    feed = FeedConfig(
        kind=feed_fields.text("kind", "replay", choices=FEED_KINDS),
        exchange=exchanges[0],
        exchanges=exchanges,
        symbols=feed_fields.strings("symbols"),
        refresh_s=feed_fields.number("refresh_s", 5.0, positive=True, at_most=MAX_REFRESH_S),
        replay=(folder / replay) if replay else None,
        stale_after_s=feed_fields.number(
            "stale_after_s", 120.0, positive=True, at_most=MAX_STALE_AFTER_S
        ),
    )
    betas_table = _table(source, data, "betas")
    betas_fields = _Fields(source, betas_table, "betas")
    betas = {
        asset: betas_fields.number(asset, minimum=-100.0, at_most=100.0) for asset in betas_table
    }
    bands_table = _table(source, data, "bands")
    bands = dict(Settings().bands)
    for name, value in bands_table.items():
        if name not in bands:
            raise source.error("unknown band (use core, hedge or alpha)", "bands", None, name)
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(
                isinstance(v, (int, float))
                and not isinstance(v, bool)
                and (finite_float(v) or 0.0) == v
                and v <= MAX_AMOUNT
                for v in value
            )
            and 0 <= value[0] <= value[1]
        )
        if not ok:
            raise source.error(
                f"must be [low, high] percent with 0 <= low <= high (got {_shown(value)})",
                "bands",
                None,
                name,
            )
        bands[name] = (float(value[0]), float(value[1]))
    alerts = _Fields(source, _table(source, data, "alerts"), "alerts")
    warn = alerts.number("margin_ratio_warn", 0.5, positive=True, maximum=1.0)
    danger = alerts.number("margin_ratio_danger", 0.8, positive=True, maximum=1.0)
    if not warn < danger:
        raise alerts.fail("margin_ratio_danger", f"must be above margin_ratio_warn ({warn:g})")
    margin = _Fields(source, _table(source, data, "margin"), "margin")
    top = _Fields(source, data, None)
    ui = _Fields(source, _table(source, data, "ui"), "ui")
    settings = Settings(
        betas=frozen_map(betas),
        bands=frozen_map(bands),
        margin_ratio_warn=warn,
        margin_ratio_danger=danger,
        stablecoins=top.strings("stablecoins", ui.strings("stablecoins", Settings().stablecoins)),
        default_mmr=margin.number("default_mmr", 0.005, positive=True, below=1.0),
    )
    keys_table = _table(source, data, "keys")
    keys_fields = _Fields(source, keys_table, "keys")
    keys = {binding: keys_fields.text(binding, required=True) or "" for binding in keys_table}
    return AppConfig(
        keys=frozen_map(keys),
        path=path,
        portfolio_path=portfolio_path,
        feed=feed,
        settings=settings,
        theme=ui.text("theme", "symbiosis-dark"),
    )
