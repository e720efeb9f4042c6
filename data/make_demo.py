"""Write data/demo.jsonl: five made-up minutes of BTC and ETH spot, perpetuals and a future.

Prices are a seeded random walk pinned to end at BTC 60,000 and ETH 2,500 (the
demo portfolio's entry prices). The leverage tiers are Binance's USDⓈ-M brackets
(notional floor and maintenance rate) from the recorded ccxt fixtures in
tests/fixtures/ccxt/binance_responses.json; the fixtures hold no maximum
leverage, so each bracket gets the one Binance pairs with its maintenance rate.

    python data/make_demo.py [OUT]
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "demo.jsonl"
BRACKETS = ROOT / "tests" / "fixtures" / "ccxt" / "binance_responses.json"

NOTE = "made-up demo data, not a recording"
EXCHANGE = "binance"
START_MS = 1_795_176_000_000  # 2026-11-20 12:00 UTC
SECONDS = 300
STEP_S = 1
FUNDING_EVERY_S = 10
FUTURE = "BTC/USDT:USDT-261225"
EXPIRY_MS = 1_798_185_600_000  # 2026-12-25 08:00 UTC, Binance's delivery time
FUNDING_INTERVAL_MS = 8 * 3600 * 1000

# asset: (end price, volatility per step, 24h change %, perp premium, funding rate)
ASSETS = {
    "BTC": (60_000.0, 0.00018, 1.8, 0.0002, 0.0001),
    "ETH": (2_500.0, 0.00024, 2.6, 0.0003, 0.00012),
}
# Binance USDⓈ-M: maximum leverage that goes with a bracket's maintenance rate.
MAX_LEVERAGE = {
    0.004: 125, 0.005: 100, 0.0065: 75, 0.01: 50, 0.02: 25, 0.025: 20,
    0.05: 10, 0.1: 5, 0.125: 4, 0.15: 3, 0.25: 2, 0.5: 1,
}  # fmt: skip
FUTURE_ANNUALIZED = 0.10  # the dated future trades about 10 % a year over spot


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def market(symbol: str) -> dict:
    base, rest = symbol.split("/", 1)
    quote, _, settle_part = rest.partition(":")
    settle = settle_part.split("-", 1)[0] or None
    expiry = EXPIRY_MS if symbol == FUTURE else None
    kind = "spot" if settle is None else ("future" if expiry else "swap")
    return {
        "id": base + quote + ("_261225" if expiry else ""),
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "settle": settle,
        "type": kind,
        "spot": kind == "spot",
        "swap": kind == "swap",
        "future": kind == "future",
        "contract": kind != "spot",
        "linear": True if settle else None,
        "inverse": False if settle else None,
        "contractSize": 1.0 if settle else None,
        "expiry": expiry,
        "expiryDatetime": iso(expiry) if expiry else None,
        "active": True,
    }


def binance_tiers(symbol: str, brackets: list[list[str]]) -> list[dict]:
    tiers = []
    for i, (floor, mmr) in enumerate(brackets):
        cap = float(brackets[i + 1][0]) if i + 1 < len(brackets) else None
        tiers.append(
            {
                "tier": i + 1,
                "symbol": symbol,
                "currency": "USDT",
                "minNotional": float(floor),
                "maxNotional": cap,
                "maintenanceMarginRate": float(mmr),
                "maxLeverage": MAX_LEVERAGE.get(float(mmr), math.floor(1 / (2 * float(mmr)))),
            }
        )
    return tiers


def bridge(rng: random.Random, steps: int, end: float, vol: float) -> list[float]:
    """A log random walk of `steps` + 1 prices that ends exactly at `end`."""
    walk = [0.0]
    for _ in range(steps):
        walk.append(walk[-1] + rng.gauss(0.0, vol))
    drift = walk[-1]
    return [round(end * math.exp(w - drift * i / steps), 2) for i, w in enumerate(walk)]


def ticker(symbol: str, ts: int, last: float, pct: float, mark=None, index=None) -> dict:
    spread = round(last * 0.00001, 2) or 0.01
    return {
        "symbol": symbol,
        "timestamp": ts,
        "datetime": iso(ts),
        "last": last,
        "close": last,
        "bid": round(last - spread, 2),
        "ask": round(last + spread, 2),
        "open": round(last / (1 + pct / 100), 2),
        "percentage": pct,
        "markPrice": mark,
        "indexPrice": index,
    }


def funding(symbol: str, ts: int, rate: float, mark: float, index: float) -> dict:
    next_ms = (ts // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    return {
        "symbol": symbol,
        "timestamp": ts,
        "datetime": iso(ts),
        "fundingRate": rate,
        "markPrice": mark,
        "indexPrice": index,
        "nextFundingTimestamp": next_ms,
        "fundingTimestamp": next_ms,
        "interval": "8h",
    }


def events() -> list[dict]:
    rng = random.Random(20261120)
    brackets = json.loads(BRACKETS.read_text())["options"]["leverageBrackets"]
    steps = SECONDS // STEP_S
    paths = {a: bridge(rng, steps, end, vol) for a, (end, vol, *_rest) in ASSETS.items()}
    out: list[dict] = []

    def add(ts: int, kind: str, data, **extra) -> None:
        out.append({"ts": ts, "exchange": EXCHANGE, "type": kind, **extra, "data": data})

    symbols = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT", FUTURE]
    for symbol in symbols:
        add(START_MS, "market", market(symbol))
    out[0]["note"] = NOTE
    for symbol in ("BTC/USDT:USDT", "ETH/USDT:USDT"):
        add(START_MS, "tiers", binance_tiers(symbol, brackets[symbol]), symbol=symbol)
    # Binance quarterlies use the perpetual's brackets; the fixtures hold no others.
    add(START_MS, "tiers", binance_tiers(FUTURE, brackets["BTC/USDT:USDT"]), symbol=FUTURE)

    for step in range(steps + 1):
        ts = START_MS + step * STEP_S * 1000
        for asset, (_end, _vol, pct, premium, rate) in ASSETS.items():
            spot = paths[asset][step]
            wobble = 1 + rng.gauss(0.0, 0.00003)
            mark = round(spot * (1 + premium) * wobble, 2)
            perp = f"{asset}/USDT:USDT"
            add(ts, "ticker", ticker(f"{asset}/USDT", ts, spot, pct))
            add(ts, "ticker", ticker(perp, ts, mark, pct, mark, spot))
            if step % (FUNDING_EVERY_S // STEP_S) == 0:
                drift = rate * (1 + 0.05 * math.sin(step / 40))
                add(ts, "funding", funding(perp, ts, round(drift, 7), mark, spot))
        btc = paths["BTC"][step]
        days = (EXPIRY_MS - ts) / 86_400_000
        future = round(btc * (1 + FUTURE_ANNUALIZED * days / 365), 2)
        add(ts, "ticker", ticker(FUTURE, ts, future, 1.8, future, btc))
    return out


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    lines = [json.dumps(e, separators=(",", ":"), allow_nan=False) for e in events()]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
