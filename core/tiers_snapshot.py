"""Leverage tiers without keys: the shipped, dated snapshot of Binance's USDⓈ-M brackets.

Binance serves its brackets only to signed requests. Without a read-only key the feed
falls back to `data/tiers/binance_usdm.json` (date and public source inside); with a key
it uses the live brackets; Bybit and OKX publish theirs. Where each contract's tiers come
from is kept as data (`TierSources`) so the report and the screen can say it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.locations import bundled_path
from core.margin import with_maintenance_amounts
from core.model import TIERS_DEFAULT, TIERS_LIVE, Tier

# data/tiers/ of the checkout, or the wheel's bundled copy.
SNAPSHOT_DIR = bundled_path("data/tiers")
LIVE = TIERS_LIVE
DEFAULT_RATE = TIERS_DEFAULT


class SnapshotError(ValueError):
    """A snapshot file that cannot be used (the message names the file)."""


@dataclass(frozen=True)
class TierSnapshot:
    """One exchange's dated brackets: symbol -> tiers (cum filled in)."""

    exchange: str
    date: str
    source: str
    tiers: Mapping[str, tuple[Tier, ...]]

    @property
    def label(self) -> str:
        return f"snapshot of {self.date}"


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"{where}: not a number ({value!r})") from exc
    if not math.isfinite(number) or number < 0:
        raise SnapshotError(f"{where}: must be a finite number >= 0 ({value!r})")
    return number


def parse_snapshot(data: Mapping[str, Any], where: str = "snapshot") -> TierSnapshot:
    """Tiers from a snapshot document: each tier [floor, mmr], capped by the next floor."""
    try:
        exchange, date, source = str(data["exchange"]), str(data["date"]), str(data["source"])
        raw_tiers = data["tiers"]
    except (KeyError, TypeError) as exc:
        raise SnapshotError(f"{where}: missing {exc}") from exc
    if not isinstance(raw_tiers, Mapping):
        raise SnapshotError(f"{where}: 'tiers' must map symbols to tier lists")
    result: dict[str, tuple[Tier, ...]] = {}
    for symbol, rows in raw_tiers.items():
        if not isinstance(rows, list) or not rows:
            raise SnapshotError(f"{where}: {symbol}: needs a non-empty list of [floor, mmr]")
        pairs = []
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) < 2:
                raise SnapshotError(f"{where}: {symbol}[{i}]: must be [floor, mmr]")
            floor = _number(row[0], f"{where}: {symbol}[{i}] floor")
            mmr = _number(row[1], f"{where}: {symbol}[{i}] mmr")
            if mmr >= 1:
                raise SnapshotError(f"{where}: {symbol}[{i}]: mmr must be a fraction below 1")
            leverage = _number(row[2], f"{where}: {symbol}[{i}] leverage") if len(row) > 2 else None
            pairs.append((floor, mmr, leverage))
        pairs.sort(key=lambda pair: pair[0])
        if pairs[0][0] != 0:
            raise SnapshotError(f"{where}: {symbol}: the first tier must start at 0")
        caps = [pair[0] for pair in pairs[1:]] + [math.inf]
        tiers = [
            Tier(min_notional=floor, max_notional=cap, mmr=mmr, max_leverage=leverage)
            for (floor, mmr, leverage), cap in zip(pairs, caps, strict=True)
        ]
        result[str(symbol)] = with_maintenance_amounts(tiers)
    return TierSnapshot(exchange=exchange, date=date, source=source, tiers=result)


def load_snapshot(exchange: str = "binance", folder: Path = SNAPSHOT_DIR) -> TierSnapshot | None:
    """The shipped snapshot of an exchange's brackets, or None when none ships."""
    path = folder / f"{exchange}_usdm.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: unreadable ({exc})") from exc
    return parse_snapshot(data, str(path))


class TierSources:
    """Where each contract's tiers come from: 'live', 'snapshot of DATE' or 'default rate'."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}

    def mark(self, symbol: str, label: str) -> None:
        self._labels[symbol] = label

    def label(self, symbol: str) -> str:
        return self._labels.get(symbol, DEFAULT_RATE)

    def labels(self, symbols: Iterable[str]) -> dict[str, str]:
        """symbol -> source label for every symbol given (default rate when unknown)."""
        return {symbol: self.label(symbol) for symbol in symbols}

    def as_dict(self) -> dict[str, str]:
        return dict(self._labels)


def use_snapshot(
    builder: Any, exchange: str, symbols: Iterable[str], sources: TierSources
) -> list[str]:
    """Give `builder` the snapshot tiers of `symbols` that have no live tiers yet.

    Returns the symbols that got snapshot tiers. Live tiers are never overwritten.
    """
    snapshot = load_snapshot(exchange)
    if snapshot is None:
        return []
    used = []
    for symbol in symbols:
        tiers = snapshot.tiers.get(symbol)
        if tiers and sources.label(symbol) != LIVE:
            builder.tiers[symbol] = tiers
            sources.mark(symbol, snapshot.label)
            used.append(symbol)
    return used
