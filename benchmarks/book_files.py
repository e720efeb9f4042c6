"""A generated book on disk, as a user would run it: config.toml, portfolio.toml and
a replay file whose every spot price and mark moves at a fixed rate.

The replay is in the design's format (ccxt unified objects, one event a line):
markets, leverage tiers and funding first, then one ticker per symbol per tick.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from benchmarks.generate import Book, make_book
from core.config import save_portfolio

EXCHANGE = "binance"


@dataclass(frozen=True)
class BookFiles:
    folder: Path
    config: Path
    portfolio: Path
    replay: Path
    n_positions: int
    n_contracts: int
    tick_hz: float
    seconds: float


def _market_events(book: Book, ts: int) -> list[dict]:
    market = book.market
    events: list[dict] = []
    for asset in market.spot:
        data: dict[str, object] = {
            "symbol": f"{asset}/USDT",
            "base": asset,
            "quote": "USDT",
            "type": "spot",
        }
        events.append({"ts": ts, "exchange": EXCHANGE, "type": "market", "data": data})
    for symbol, quote in market.contracts.items():
        data = {
            "symbol": symbol,
            "base": quote.base,
            "quote": "USDT",
            "settle": "USDT",
            "type": quote.kind,
            "contract": True,
            "linear": True,
            "inverse": False,
            "contractSize": 1.0,
            "expiry": quote.expiry_ms,
        }
        events.append({"ts": ts, "exchange": EXCHANGE, "type": "market", "data": data})
        tiers = [
            {
                "tier": k + 1,
                "minNotional": t.min_notional,
                "maxNotional": t.max_notional if t.max_notional != float("inf") else None,
                "maintenanceMarginRate": t.mmr,
                "maxLeverage": 125 // (k + 1),
            }
            for k, t in enumerate(market.tiers[symbol])
        ]
        events.append(
            {"ts": ts, "exchange": EXCHANGE, "type": "tiers", "symbol": symbol, "data": tiers}
        )
        if quote.kind == "swap":
            funding = {
                "symbol": symbol,
                "fundingRate": quote.funding_rate,
                "nextFundingTimestamp": quote.next_funding_ms,
                "interval": "8h",
            }
            events.append({"ts": ts, "exchange": EXCHANGE, "type": "funding", "data": funding})
    return events


def write_replay(book: Book, path: Path, tick_hz: float, seconds: float, seed: int = 5) -> None:
    """Markets, tiers, funding, then every price moving by up to ±0.05 % a tick."""
    rng = random.Random(seed)
    market = book.market
    ts = market.clock_ms
    spot = {a: q.price or 1.0 for a, q in market.spot.items()}
    marks = {s: q.mark or 1.0 for s, q in market.contracts.items()}
    step_ms = round(1000 / tick_hz)
    with path.open("w", encoding="utf-8") as out:
        for event in _market_events(book, ts):
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
        for tick in range(int(seconds * tick_hz) + 1):
            now = ts + tick * step_ms
            lines = []
            for asset, price in spot.items():
                if tick:
                    price = spot[asset] = price * (1 + rng.uniform(-5e-4, 5e-4))
                data = {"symbol": f"{asset}/USDT", "last": round(price, 6), "percentage": 1.5}
                lines.append({"ts": now, "exchange": EXCHANGE, "type": "ticker", "data": data})
            for symbol, mark in marks.items():
                if tick:
                    mark = marks[symbol] = mark * (1 + rng.uniform(-5e-4, 5e-4))
                data = {"symbol": symbol, "markPrice": round(mark, 6), "last": round(mark, 6)}
                lines.append({"ts": now, "exchange": EXCHANGE, "type": "ticker", "data": data})
            out.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines))


def write_config(book: Book, folder: Path, replay: Path) -> Path:
    betas = "".join(f'"{asset}" = {beta}\n' for asset, beta in book.settings.betas.items())
    path = folder / "config.toml"
    path.write_text(
        'stablecoins = ["USDT", "USDC"]\n\n[portfolio]\npath = "portfolio.toml"\n\n'
        f'[feed]\nkind = "replay"\nexchange = "{EXCHANGE}"\nreplay = "{replay}"\n'
        f"stale_after_s = 120\n\n[betas]\n{betas}",
        encoding="utf-8",
    )
    return path


def write_book(
    folder: Path, n_positions: int, n_assets: int, tick_hz: float, seconds: float
) -> BookFiles:
    """A generated book of `n_positions` over `n_assets` assets (2 contracts each)."""
    book = make_book(n_positions, n_assets=n_assets)
    folder.mkdir(parents=True, exist_ok=True)
    replay = folder / "replay.jsonl"
    write_replay(book, replay, tick_hz, seconds)
    portfolio = folder / "portfolio.toml"
    save_portfolio(book.portfolio, portfolio, None)
    config = write_config(book, folder, replay)
    return BookFiles(
        folder,
        config,
        portfolio,
        replay,
        n_positions,
        len(book.market.contracts),
        tick_hz,
        seconds,
    )
