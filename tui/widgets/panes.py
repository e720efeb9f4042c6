"""The four book panes: column layouts and row sources over a Report.

Row sources format a row only when the table paints it, reading the
Report's columnar position frame by index.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import polars as pl
from textual.binding import Binding

from core.model import base_asset, is_dated_symbol
from core.report import AssetRow, BasisRow, HoldingRow, Report
from tui import format as fmt
from tui.widgets.book_table import BookTable, Cell, Column, Tone

HOLDING_COLUMNS = (
    Column("asset", "Asset", 5, "left"),
    Column("qty", "Qty", 10, editable=True),
    Column("price", "Price", 9),
    Column("value", "Value $", 9),
    Column("weight", "Wt %", 6),
    Column("beta", "β", 5),
    Column("change", "24h %", 7),
    Column("hedged", "Hedged", 6),
    Column("net", "Net $", 9),
    Column("cost", "Cost $", 9, editable=True),
    Column("pnl", "PnL $", 9),
)

HEDGE_COLUMNS = (
    Column("id", "Id", 8, "left"),
    Column("symbol", "Contract", 11, "left", editable=True),
    Column("side", "Side", 5, "left", editable=True),
    Column("size", "Size", 9, editable=True),
    Column("notional", "Notional $", 10),
    Column("hedge", "Hedge", 5),
    Column("upnl", "uPnL $", 8),
    Column("liq", "Liq.", 9),
    Column("dist", "Dist %", 6),
    Column("funding", "Fund $/p", 8),
    Column("entry", "Entry", 9, editable=True),
    Column("mark", "Mark", 9),
    Column("lev", "Lev", 5, editable=True),
    Column("mode", "Mode", 4, "left", editable=True),
    Column("margin", "Margin $", 9, editable=True),
)

ALPHA_COLUMNS = (
    Column("id", "Id", 8, "left"),
    Column("kind", "Kind", 5, "left"),
    Column("symbol", "Contract", 11, "left", editable=True),
    Column("side", "Side", 5, "left", editable=True),
    Column("size", "Size", 9, editable=True),
    Column("lev", "Lev", 5, editable=True),
    Column("upnl", "uPnL $", 8),
    Column("liq", "Liq.", 9),
    Column("dist", "Dist %", 6),
    Column("carry", "Carry %", 7),
    Column("entry", "Entry", 9, editable=True),
    Column("mark", "Mark", 9),
    Column("notional", "Notional $", 10),
    Column("mode", "Mode", 4, "left", editable=True),
    Column("margin", "Margin $", 9, editable=True),
    Column("spot_qty", "Spot leg", 8, editable=True),
)

BASIS_COLUMNS = (
    Column("symbol", "Contract", 11, "left"),
    Column("spot", "Spot", 9),
    Column("futures", "Futures", 9),
    Column("basis", "Basis", 7),
    Column("basis_pct", "Basis %", 7),
    Column("annualized", "Ann. %", 7),
    Column("funding", "Fund %", 8),
    Column("apr", "APR %", 6),
    Column("next", "Next", 6),
    Column("data", "Data", 5),
)


def contract_label(symbol: str, kind: str) -> str:
    """'BTC/USDT:USDT' -> 'BTC perp'; 'BTC/USDT:USDT-261225' -> 'BTC 261225'."""
    base = base_asset(symbol)
    if kind == "swap":
        settle = symbol.split(":", 1)[-1]
        return f"{base} perp" if settle == "USDT" else f"{base} {settle} perp"
    return f"{base} {symbol.rsplit('-', 1)[-1]}"


class _RowTuple:
    """A source over a tuple of report rows, keyed by one of their fields."""

    rows: tuple
    key_field: str

    def __len__(self) -> int:
        return len(self.rows)

    def key(self, index: int) -> str:
        return getattr(self.rows[index], self.key_field)

    def cells(self, index: int, columns: Sequence[int]) -> Sequence[Cell]:
        row = self.row_cells(index)
        return tuple(row[i] for i in columns)

    def row_cells(self, index: int) -> Sequence[Cell]:
        """Every cell of a row, in column order (a short row costs little to format whole)."""
        raise NotImplementedError


class HoldingsSource(_RowTuple):
    key_field = "asset"

    def __init__(self, report: Report, edited: frozenset[str]) -> None:
        self.report = report
        self.rows: tuple[HoldingRow, ...] = report.holdings
        self.assets: dict[str, AssetRow] = {a.asset: a for a in report.assets}
        self.edited = edited

    def row_tone(self, index: int) -> Tone:
        return "edited" if self.rows[index].asset in self.edited else ""

    def row_cells(self, index: int) -> Sequence[Cell]:
        h = self.rows[index]
        asset = self.assets.get(h.asset)
        beta = "—" if h.stable else f"{h.beta:.2f}" + ("?" if h.beta_assumed else "")
        return (
            Cell(h.asset),
            Cell(fmt.qty(h.qty)),
            Cell(fmt.price(h.price), "stale" if h.stale else ""),
            Cell(fmt.usd(h.value_usd)),
            Cell(fmt.pct(h.weight_pct, 1)),
            Cell(beta, "muted" if h.beta_assumed else ""),
            Cell(fmt.pct(h.change_24h_pct, 2, signed=True), fmt.tone_of(h.change_24h_pct)),
            Cell(fmt.ratio_pct(asset.hedge_ratio, 0) if asset else "—"),
            Cell(fmt.usd(asset.net_usd, signed=True) if asset else "—"),
            Cell(fmt.usd(h.cost_usd)),
            Cell(fmt.usd(h.pnl_usd, signed=True), fmt.tone_of(h.pnl_usd)),
        )


# Rows fetched from the frame per polars call: more than a tall screen shows.
ROW_WINDOW = 128

# Which frame column a position table's column sorts by.
SORT_FIELDS = {
    "id": "id",
    "kind": "kind",
    "symbol": "symbol",
    "side": "side",
    "size": "size",
    "notional": "notional_usd",
    "hedge": "hedge_ratio",
    "upnl": "unrealized_pnl_usd",
    "liq": "liquidation_price",
    "dist": "distance_to_liquidation_pct",
    "funding": "funding_usd_per_period",
    "carry": "carry_apr_pct",
    "entry": "entry_price",
    "mark": "mark_price",
    "lev": "leverage",
    "mode": "margin_mode",
    "margin": "margin_usd",
    "spot_qty": "spot_qty",
}


class PositionSource:
    """Rows of one book, read from the report's position frame on demand."""

    FIELDS = (
        "id kind symbol side size notional_usd hedge_ratio unrealized_pnl_usd liquidation_price "
        "distance_to_liquidation_pct funding_usd_per_period carry_apr_pct entry_price mark_price "
        "leverage margin_mode margin_usd spot_qty stale"
    ).split()

    def __init__(
        self,
        report: Report,
        book: str,
        columns: Sequence[Column],
        edited: frozenset[str],
        liquidated: frozenset[str],
        sort: tuple[str, bool] | None = None,
    ) -> None:
        frame = report.position_frame
        self.report_frame = frame
        self.sort = sort
        self.frame = (
            frame.filter(pl.col("book") == book).select(self.FIELDS) if frame.height else frame
        )
        field = SORT_FIELDS.get(sort[0]) if sort else None
        if field and self.frame.height:
            self.frame = self.frame.sort(field, descending=sort[1], nulls_last=True)
        self.ids: list[str] = self.frame["id"].to_list() if self.frame.height else []
        self.columns = columns
        self.edited = edited
        self.liquidated = liquidated
        self._window_start = 0
        self._window: list[tuple] = []

    def shows_the_same_rows(
        self, report: Report, columns: Sequence[Column], sort: tuple[str, bool] | None
    ) -> bool:
        """Would a source over `report` read the same rows? Compared on the report's
        columns (a few microseconds each), before any filtering or sorting."""
        frame = report.position_frame
        if self.columns != columns or self.sort != sort or self.report_frame.shape != frame.shape:
            return False
        old = self.report_frame
        return all(old[name].equals(frame[name]) for name in ("book", *self.FIELDS))

    def with_highlights(self, edited: frozenset[str], liquidated: frozenset[str]) -> PositionSource:
        """The same rows with other edited and liquidated marks."""
        source = copy.copy(self)
        source.edited, source.liquidated = edited, liquidated
        return source

    def __len__(self) -> int:
        return len(self.ids)

    def _row(self, index: int) -> tuple:
        """One row's values; fetched a screenful at a time (one polars call per window)."""
        offset = index - self._window_start
        if 0 <= offset < len(self._window):
            return self._window[offset]
        self._window_start = max(index - ROW_WINDOW // 4, 0)
        self._window = self.frame.slice(self._window_start, ROW_WINDOW).rows()
        return self._window[index - self._window_start]

    def key(self, index: int) -> str:
        return self.ids[index]

    def row_tone(self, index: int) -> Tone:
        pid = self.ids[index]
        if pid in self.liquidated:
            return "alert"
        return "edited" if pid in self.edited else ""

    def cells(self, index: int, columns: Sequence[int]) -> Sequence[Cell]:
        """Only the asked columns are formatted: a wide book shows a part of its row."""
        row = dict(zip(self.FIELDS, self._row(index), strict=True))
        return tuple(_POSITION_CELLS[self.columns[i].key](self, row) for i in columns)

    def id_cell(self, pid: str) -> Cell:
        # A mark that survives the cursor highlight: liquidated under the shock.
        return Cell(f"✗ {pid}", "negative") if pid in self.liquidated else Cell(pid)


def _dist_cell(dist: float | None) -> Cell:
    return Cell(fmt.pct(dist, 1), "alert" if dist is not None and dist < 10 else "")


def _symbol_cell(symbol: str) -> Cell:
    return Cell(contract_label(symbol, "future" if is_dated_symbol(symbol) else "swap"))


# How each position column reads a row (a dict of PositionSource.FIELDS).
_POSITION_CELLS: dict[str, Callable[[PositionSource, dict], Cell]] = {
    "id": lambda source, r: source.id_cell(r["id"]),
    "kind": lambda source, r: Cell("basis" if r["kind"] == "basis" else "dir"),
    "symbol": lambda source, r: _symbol_cell(r["symbol"]),
    "side": lambda source, r: Cell(r["side"], "positive" if r["side"] == "long" else "negative"),
    "size": lambda source, r: Cell(fmt.qty(r["size"])),
    "notional": lambda source, r: Cell(fmt.usd(r["notional_usd"])),
    "hedge": lambda source, r: Cell(fmt.ratio_pct(r["hedge_ratio"], 0)),
    "upnl": lambda source, r: Cell(
        fmt.usd(r["unrealized_pnl_usd"], signed=True), fmt.tone_of(r["unrealized_pnl_usd"])
    ),
    "liq": lambda source, r: Cell(fmt.price(r["liquidation_price"])),
    "dist": lambda source, r: _dist_cell(r["distance_to_liquidation_pct"]),
    "funding": lambda source, r: Cell(
        fmt.usd_cents(r["funding_usd_per_period"], signed=True),
        fmt.tone_of(r["funding_usd_per_period"]),
    ),
    "carry": lambda source, r: Cell(
        fmt.pct(r["carry_apr_pct"], 1, signed=True), fmt.tone_of(r["carry_apr_pct"])
    ),
    "entry": lambda source, r: Cell(fmt.price(r["entry_price"])),
    "mark": lambda source, r: Cell(fmt.price(r["mark_price"]), "stale" if r["stale"] else ""),
    # An isolated position shows its effective leverage (notional at mark / its margin).
    "lev": lambda source, r: Cell(f"{r['leverage']:.3g}x" if r["leverage"] is not None else "—"),
    "mode": lambda source, r: Cell("iso" if r["margin_mode"] == "isolated" else "x"),
    "margin": lambda source, r: Cell(fmt.usd(r["margin_usd"])),
    "spot_qty": lambda source, r: Cell(fmt.qty(r["spot_qty"]) if r["kind"] == "basis" else "—"),
}


class BasisSource(_RowTuple):
    key_field = "symbol"

    def __init__(self, report: Report, clock_ms: int) -> None:
        self.rows: Sequence[BasisRow] = report.basis_rows
        self.clock_ms = clock_ms

    def row_tone(self, index: int) -> Tone:
        return "stale" if self.rows[index].stale else ""

    def row_cells(self, index: int) -> Sequence[Cell]:
        b = self.rows[index]
        until = b.next_funding_ms - self.clock_ms if b.next_funding_ms else None
        funding_pct = None if b.funding_rate is None else b.funding_rate * 100
        return (
            Cell(contract_label(b.symbol, b.kind) + (" !" if b.stale else "")),
            Cell(fmt.price(b.spot)),
            Cell(fmt.price(b.futures)),
            Cell(fmt.usd_cents(b.basis, signed=True), fmt.tone_of(b.basis)),
            Cell(fmt.pct(b.basis_pct, 3, signed=True), fmt.tone_of(b.basis_pct)),
            Cell(fmt.pct(b.annualized_pct, 1, signed=True), fmt.tone_of(b.annualized_pct)),
            Cell(fmt.pct(funding_pct, 4, signed=True), fmt.tone_of(funding_pct)),
            Cell(fmt.pct(b.funding_apr_pct, 1, signed=True), fmt.tone_of(b.funding_apr_pct)),
            Cell(fmt.countdown(until) if b.kind == "swap" else f"{b.days_to_expiry or 0:.0f}d"),
            Cell("stale" if b.stale else "ok", "stale" if b.stale else "muted"),
        )


class HoldingsTable(BookTable):
    BINDINGS = [
        Binding("a", "app.add_row", "Add"),
        Binding("d", "app.delete_row", "Delete"),
    ]


class PositionTable(BookTable):
    BINDINGS = [
        Binding("a", "app.add_row", "Add"),
        Binding("d", "app.delete_row", "Delete"),
        Binding("m", "app.move_row", "Move book"),
        Binding("i", "app.position_details", "Details"),
        Binding("s", "app.sort_rows", "Sort"),
    ]


def holdings_table() -> BookTable:
    return HoldingsTable(HOLDING_COLUMNS, "no holdings — press a to add one", id="holdings-table")


def hedge_table() -> BookTable:
    return PositionTable(HEDGE_COLUMNS, "no hedges — press a to add one", id="hedge-table")


def alpha_table() -> BookTable:
    return PositionTable(ALPHA_COLUMNS, "no alpha positions — press a to add one", id="alpha-table")


def basis_table() -> BookTable:
    return BookTable(BASIS_COLUMNS, "no futures quotes yet", id="basis-table")
