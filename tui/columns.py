"""Column definitions of the book panes: one place says what a column shows,
whether and how Enter edits it, how it reads and what it sorts by.

The editors, the "editable: …" hints, the sort fields and the narrow-screen
layout are all derived from these tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal, NamedTuple

from core.model import base_asset, is_dated_symbol
from tui import format as fmt

Tone = Literal["", "positive", "negative", "muted", "stale", "alert", "edited"]
# How Enter edits a column: a number in the edit grammar, free text, a flip
# between two values, or not at all (a computed figure).
Editor = Literal["number", "text", "toggle", ""]
Row = Mapping[str, Any]


class Cell(NamedTuple):
    """What a column shows in one row (a tuple: a paint makes one per visible cell)."""

    text: str
    tone: Tone = ""


@dataclass(frozen=True)
class Column:
    """A column of a book table.

    `field` is the portfolio field Enter edits (with `editor`); `sort` the report
    field `s` orders by; `drop` the order in which a narrow pane gives the column
    up (highest first; 0 never).
    """

    key: str
    label: str
    width: int
    align: Literal["left", "right"] = "right"
    field: str | None = None
    editor: Editor = ""
    sort: str | None = None
    drop: int = 0
    cell: Callable[[Row], Cell] = dataclass_field(
        default=lambda row: Cell(""), compare=False, repr=False
    )

    @property
    def editable(self) -> bool:
        return bool(self.editor)


def editable_hint(columns: Sequence[Column]) -> str:
    """'qty, cost' — the columns Enter edits, for the status line."""
    return ", ".join(c.label.rstrip(" $").lower() for c in columns if c.editable)


def contract_label(symbol: str, kind: str) -> str:
    """'BTC/USDT:USDT' -> 'BTC perp'; 'BTC/USDT:USDT-261225' -> 'BTC 261225'."""
    base = base_asset(symbol)
    if kind == "swap":
        settle = symbol.split(":", 1)[-1]
        return f"{base} perp" if settle == "USDT" else f"{base} {settle} perp"
    return f"{base} {symbol.rsplit('-', 1)[-1]}"


def _signed_usd(value: float | None) -> Cell:
    return Cell(fmt.usd(value, signed=True), fmt.tone_of(value))  # type: ignore[arg-type]


# -- holdings: a row is {"holding": HoldingRow, "asset": AssetRow | None, "edited": bool}


def _beta(row: Row) -> Cell:
    h = row["holding"]
    text = "—" if h.stable else f"{h.beta:.2f}" + ("?" if h.beta_assumed else "")
    return Cell(text, "muted" if h.beta_assumed else "")


def _asset_cell(row: Row) -> Cell:
    # A mark that does not rely on colour: edited in the draft.
    asset = row["holding"].asset
    return Cell(f"● {asset}" if row["edited"] else asset)


def _of_asset(row: Row, read: Callable[[Any], str]) -> Cell:
    asset = row["asset"]
    return Cell(read(asset) if asset is not None else "—")


HOLDING_COLUMNS: tuple[Column, ...] = (
    Column("asset", "Asset", 6, "left", sort="asset", cell=_asset_cell),
    Column(
        "qty",
        "Qty",
        10,
        field="qty",
        editor="number",
        sort="qty",
        cell=lambda r: Cell(fmt.qty(r["holding"].qty)),
    ),
    Column(
        "price",
        "Price",
        9,
        sort="price",
        cell=lambda r: Cell(fmt.price(r["holding"].price), "stale" if r["holding"].stale else ""),
    ),
    Column(
        "value",
        "Value $",
        9,
        sort="value_usd",
        cell=lambda r: Cell(fmt.usd(r["holding"].value_usd)),
    ),
    Column(
        "weight",
        "Wt %",
        6,
        sort="weight_pct",
        drop=3,
        cell=lambda r: Cell(fmt.pct(r["holding"].weight_pct, 1)),
    ),
    Column("beta", "β", 5, sort="beta", drop=2, cell=_beta),
    Column(
        "change",
        "24h %",
        7,
        sort="change_24h_pct",
        drop=4,
        cell=lambda r: Cell(
            fmt.pct(r["holding"].change_24h_pct, 2, signed=True),
            fmt.tone_of(r["holding"].change_24h_pct),  # type: ignore[arg-type]
        ),
    ),
    Column(
        "hedged",
        "Hedged",
        6,
        drop=1,
        cell=lambda r: _of_asset(r, lambda a: fmt.ratio_pct(a.hedge_ratio, 0)),
    ),
    Column(
        "net",
        "Net $",
        9,
        drop=1,
        cell=lambda r: _of_asset(r, lambda a: fmt.usd(a.net_usd, signed=True)),
    ),
    Column(
        "cost",
        "Cost $",
        9,
        field="cost_usd",
        editor="number",
        sort="cost_usd",
        drop=5,
        cell=lambda r: Cell(fmt.usd(r["holding"].cost_usd)),
    ),
    Column(
        "pnl",
        "PnL $",
        9,
        sort="pnl_usd",
        drop=5,
        cell=lambda r: _signed_usd(r["holding"].pnl_usd),
    ),
    Column(
        "note",
        "Note",
        12,
        "left",
        field="note",
        editor="text",
        drop=6,
        cell=lambda r: Cell(_one_line(r["holding_note"]), "muted"),
    ),
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- positions: a row is a dict of the report's position frame columns, plus
# "edited" and "liquidated" (bools) and "shocked" (the scenario's figures shown).


def _id_cell(row: Row) -> Cell:
    # Marks that survive any highlight and read without colour.
    pid = row["id"]
    if row["liquidated"]:
        return Cell(f"✗ {pid}", "negative")
    return Cell(f"● {pid}" if row["edited"] else pid)


def _symbol_cell(row: Row) -> Cell:
    symbol = row["symbol"]
    return Cell(contract_label(symbol, "future" if is_dated_symbol(symbol) else "swap"))


def _dist_cell(row: Row) -> Cell:
    dist = row["distance_to_liquidation_pct"]
    return Cell(fmt.pct(dist, 1), "alert" if dist is not None and dist < 10 else "")


def _mark_cell(row: Row) -> Cell:
    return Cell(fmt.price(row["mark_price"]), "stale" if row["stale"] else "")


def _shock_to_liq(row: Row) -> Cell:
    value = row["liquidation_shock_pct"]
    return Cell(fmt.pct(value, 1, signed=True), "alert" if value is not None else "muted")


def _margin_ratio_cell(row: Row) -> Cell:
    value = row["margin_ratio"]
    return Cell(fmt.ratio_pct(value, 1), "alert" if value is not None and value >= 0.5 else "")


def _position_columns(book: str) -> tuple[Column, ...]:
    hedge = book == "hedge"
    columns = [
        Column("id", "Id", 9, "left", sort="id", cell=_id_cell),
        Column("kind", "Kind", 5, "left", sort="kind", drop=6, cell=_kind_cell)
        if not hedge
        else None,
        Column(
            "symbol",
            "Contract",
            11,
            "left",
            field="symbol",
            editor="text",
            sort="symbol",
            cell=_symbol_cell,
        ),
        # Which venue's account margins it (dropped first on a narrow screen).
        Column("venue", "Venue", 8, "left", sort="venue", drop=9, cell=lambda r: Cell(r["venue"])),
        Column(
            "side",
            "Side",
            5,
            "left",
            field="side",
            editor="toggle",
            sort="side",
            cell=lambda r: Cell(r["side"], "positive" if r["side"] == "long" else "negative"),
        ),
        Column(
            "size",
            "Size",
            9,
            field="size",
            editor="number",
            sort="size",
            cell=lambda r: Cell(fmt.qty(r["size"])),
        ),
        Column(
            "notional",
            "Notional $",
            10,
            sort="notional_usd",
            cell=lambda r: Cell(fmt.usd(r["notional_usd"])),
        ),
        Column(
            "hedge",
            "Hedge",
            5,
            sort="hedge_ratio",
            drop=2,
            cell=lambda r: Cell(fmt.ratio_pct(r["hedge_ratio"], 0)),
        )
        if hedge
        else None,
        Column(
            "upnl",
            "uPnL $",
            8,
            sort="unrealized_pnl_usd",
            cell=lambda r: _signed_usd(r["unrealized_pnl_usd"]),
        ),
        Column(
            "liq",
            "Liq.",
            9,
            sort="liquidation_price",
            cell=lambda r: Cell(fmt.price(r["liquidation_price"])),
        ),
        Column("dist", "Dist %", 6, sort="distance_to_liquidation_pct", cell=_dist_cell),
        Column(
            "mr",
            "MR %",
            6,
            sort="margin_ratio",
            drop=1,
            cell=_margin_ratio_cell,
        ),
        Column(
            "shock_liq",
            "BTC→liq",
            7,
            sort="liquidation_shock_pct",
            drop=1,
            cell=_shock_to_liq,
        ),
        Column(
            "lev",
            "Lev",
            5,
            field="leverage",
            editor="number",
            sort="leverage",
            drop=3,
            # An isolated position shows its effective leverage (notional at mark / margin).
            cell=lambda r: Cell(f"{r['leverage']:.3g}x" if r["leverage"] is not None else "—"),
        ),
        Column(
            "mark",
            "Mark",
            9,
            sort="mark_price",
            drop=3,
            cell=_mark_cell,
        ),
        Column(
            "funding",
            "Fund $/8h",
            9,
            sort="funding_usd_per_period",
            drop=4,
            cell=lambda r: Cell(
                fmt.usd_cents(r["funding_usd_per_period"], signed=True),
                fmt.tone_of(r["funding_usd_per_period"]),  # type: ignore[arg-type]
            ),
        )
        if hedge
        else Column(
            "carry",
            "Carry %",
            7,
            sort="carry_apr_pct",
            drop=6,
            cell=lambda r: Cell(
                fmt.pct(r["carry_apr_pct"], 1, signed=True),
                fmt.tone_of(r["carry_apr_pct"]),  # type: ignore[arg-type]
            ),
        ),
        Column(
            "mode",
            "Mode",
            4,
            "left",
            field="margin_mode",
            editor="toggle",
            sort="margin_mode",
            drop=4,
            cell=lambda r: Cell("iso" if r["margin_mode"] == "isolated" else "x"),
        ),
        Column(
            "margin",
            "Margin $",
            9,
            field="margin_usd",
            editor="number",
            sort="margin_usd",
            drop=4,
            cell=lambda r: Cell(fmt.usd(r["margin_usd"])),
        ),
        Column(
            "entry",
            "Entry",
            9,
            field="entry_price",
            editor="number",
            sort="entry_price",
            drop=7,
            cell=lambda r: Cell(fmt.price(r["entry_price"])),
        ),
        None
        if hedge
        else Column(
            "spot_qty",
            "Spot leg",
            8,
            field="spot_qty",
            editor="number",
            sort="spot_qty",
            drop=5,
            cell=lambda r: Cell(fmt.qty(r["spot_qty"]) if r["kind"] == "basis" else "—"),
        ),
        Column(
            "note",
            "Note",
            12,
            "left",
            field="note",
            editor="text",
            drop=8,
            cell=lambda r: Cell(_one_line(r.get("note") or ""), "muted"),
        ),
    ]
    return tuple(c for c in columns if c is not None)


def _kind_cell(row: Row) -> Cell:
    return Cell("basis" if row["kind"] == "basis" else "dir")


HEDGE_COLUMNS = _position_columns("hedge")
ALPHA_COLUMNS = _position_columns("alpha")

# The report fields a position row reads (a position table selects only these).
POSITION_FIELDS: tuple[str, ...] = (
    "id",
    "kind",
    "symbol",
    "venue",
    "side",
    "size",
    "notional_usd",
    "hedge_ratio",
    "unrealized_pnl_usd",
    "liquidation_price",
    "distance_to_liquidation_pct",
    "funding_usd_per_period",
    "carry_apr_pct",
    "entry_price",
    "mark_price",
    "leverage",
    "margin_mode",
    "margin_usd",
    "spot_qty",
    "stale",
    "margin_ratio",
    "liquidation_shock_pct",
)
# Under a shock the panes show the scenario: field shown -> the report field read.
SHOCKED_FIELDS: dict[str, str] = {
    "mark_price": "shocked_mark_price",
    "unrealized_pnl_usd": "shocked_unrealized_pnl_usd",
    "margin_ratio": "shocked_margin_ratio",
}


# -- basis rows: a row is {"basis": BasisRow, "clock_ms": int}


def _basis_next(row: Row) -> Cell:
    b = row["basis"]
    if b.kind != "swap":
        return Cell(f"{b.days_to_expiry or 0:.0f}d")
    until = b.next_funding_ms - row["clock_ms"] if b.next_funding_ms else None
    return Cell(fmt.countdown(until))


def _basis_signed_pct(read: Callable[[Any], float | None], digits: int) -> Callable[[Row], Cell]:
    def cell(row: Row) -> Cell:
        value = read(row["basis"])
        return Cell(fmt.pct(value, digits, signed=True), fmt.tone_of(value))  # type: ignore[arg-type]

    return cell


BASIS_COLUMNS: tuple[Column, ...] = (
    Column(
        "symbol",
        "Contract",
        11,
        "left",
        cell=lambda r: Cell(
            contract_label(r["basis"].symbol, r["basis"].kind) + (" !" if r["basis"].stale else "")
        ),
    ),
    Column("spot", "Spot", 9, drop=2, cell=lambda r: Cell(fmt.price(r["basis"].spot))),
    Column("futures", "Futures", 9, cell=lambda r: Cell(fmt.price(r["basis"].futures))),
    Column(
        "basis",
        "Basis",
        8,
        drop=3,
        cell=lambda r: Cell(
            fmt.usd_cents(r["basis"].basis, signed=True),
            fmt.tone_of(r["basis"].basis),  # type: ignore[arg-type]
        ),
    ),
    Column("basis_pct", "Basis %", 7, cell=_basis_signed_pct(lambda b: b.basis_pct, 3)),
    Column("annualized", "Ann. %", 7, cell=_basis_signed_pct(lambda b: b.annualized_pct, 1)),
    Column(
        "funding",
        "Fund %",
        8,
        drop=1,
        cell=_basis_signed_pct(
            lambda b: None if b.funding_rate is None else b.funding_rate * 100, 4
        ),
    ),
    Column("apr", "APR %", 6, cell=_basis_signed_pct(lambda b: b.funding_apr_pct, 1)),
    Column("next", "Next", 6, drop=2, cell=_basis_next),
    Column(
        "data",
        "Data",
        5,
        drop=1,
        cell=lambda r: Cell(
            "stale" if r["basis"].stale else "ok", "stale" if r["basis"].stale else "muted"
        ),
    ),
)


def fitting_columns(columns: Sequence[Column], width: int) -> tuple[Column, ...]:
    """The columns that fit `width` cells: one at a time the highest `drop` rank goes
    (the rightmost of a rank first); a rank of 0 always stays."""
    shown = list(columns)
    used = sum(c.width + 1 for c in shown)
    droppable = sorted(
        (c for c in shown if c.drop), key=lambda c: (c.drop, shown.index(c)), reverse=True
    )
    for column in droppable:
        if used <= width:
            break
        shown.remove(column)
        used -= column.width + 1
    return tuple(shown)
