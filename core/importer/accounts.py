"""Read one venue's account through ccxt with read-only keys: balances, positions, funding.

Each venue's quirks are handled here and nowhere else:
- Binance USDⓈ-M: v3 position risk has no leverage (asked for with fetch_leverages, the
  symbol configuration); its `maintenanceMargin` ignores the maintenance amount (not
  used: the engine computes MM from the tiers); the futures balance `total` includes
  uPnL, so the cross wallet is `crossWalletBalance` of the account's stablecoin assets.
- Bybit unified account: no margin mode per position (asked for from the account info);
  balances are `walletBalance` per coin (without uPnL), spot and derivatives in one wallet.
- OKX: sizes are contracts (times the market's contract size); the wallet per currency is
  `cashBal` (ccxt's `total` is the equity, uPnL included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.feeds.state import _number
from core.model import MarginMode, Side, is_inverse_symbol


@dataclass(frozen=True)
class ImportedPosition:
    """A futures position as the exchange reports it, in the portfolio's units."""

    venue: str
    symbol: str
    side: Side
    size: float  # base units: contracts x contract size
    entry_price: float
    leverage: float
    margin_mode: MarginMode
    margin_usd: float | None = None  # the isolated wallet; None for cross


@dataclass(frozen=True)
class FundingPayment:
    """One realised funding payment (+ received, - paid), as ccxt's fetch_funding_history."""

    venue: str
    id: str
    symbol: str
    code: str
    timestamp_ms: int
    amount: float


@dataclass(frozen=True)
class VenueAccount:
    """What one venue holds: spot balances, its cross wallet, open positions, funding."""

    venue: str
    spot: Mapping[str, float]
    cross_wallet_usd: float
    positions: tuple[ImportedPosition, ...] = ()
    funding: tuple[FundingPayment, ...] = ()
    notes: tuple[str, ...] = field(default=())


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _positive(balances: Mapping[str, float]) -> dict[str, float]:
    return {asset: qty for asset, qty in sorted(balances.items()) if qty > 0}


def _leverage(value: Any, fallback: float = 1.0) -> float:
    number = _number(value)
    return number if number and number > 0 else fallback


class VenueReader:
    """Reads a venue; subclasses know where that venue keeps each figure."""

    def __init__(self, exchange: Any, venue: str, stablecoins: Sequence[str]) -> None:
        self.exchange = exchange
        self.venue = venue
        self.stablecoins = set(stablecoins)
        self.notes: list[str] = []

    async def read(self, with_funding: bool = True) -> VenueAccount:
        await self.exchange.load_markets()
        spot, cross = await self.balances()
        positions = await self.positions()
        funding: Sequence[FundingPayment] = ()
        if with_funding:
            try:
                funding = await self.funding([p.symbol for p in positions])
            except Exception as exc:  # noqa: BLE001 - funding is history: the book stands alone
                # The class name only: an exchange message may echo the request.
                self.notes.append(f"{self.venue}: funding history not read ({type(exc).__name__})")
        return VenueAccount(
            venue=self.venue,
            spot=_positive(spot),
            cross_wallet_usd=round(cross, 10),  # sums of decimal strings: drop float noise
            positions=tuple(positions),
            funding=tuple(funding),
            notes=tuple(self.notes),
        )

    async def balances(self) -> tuple[dict[str, float], float]:
        """Spot balances (asset -> qty) and the futures cross wallet in USD."""
        raise NotImplementedError

    async def raw_positions(self) -> list[Mapping[str, Any]]:
        return await self.exchange.fetch_positions()

    async def positions(self) -> list[ImportedPosition]:
        result = []
        for raw in await self.raw_positions():
            position = self.position(raw)
            if position is not None:
                result.append(position)
        return [
            p if p.margin_mode == "isolated" else replace(p, margin_usd=None)
            for p in await self.complete(result)
        ]

    async def complete(self, positions: list[ImportedPosition]) -> list[ImportedPosition]:
        """Fill what the positions endpoint leaves out (leverage, margin mode)."""
        return positions

    def contract_size(self, symbol: str, raw: Mapping[str, Any]) -> float:
        market = (self.exchange.markets or {}).get(symbol) or {}
        return _number(raw.get("contractSize")) or _number(market.get("contractSize")) or 1.0

    def margin_mode(self, raw: Mapping[str, Any]) -> MarginMode:
        mode = _text(raw.get("marginMode")).lower()
        return "isolated" if mode == "isolated" else "cross"

    def isolated_margin(self, raw: Mapping[str, Any]) -> float | None:
        return _number(raw.get("collateral"))

    def position(self, raw: Mapping[str, Any]) -> ImportedPosition | None:
        symbol = _text(raw.get("symbol"))
        contracts = _number(raw.get("contracts"))
        if not symbol or not contracts or contracts <= 0:
            return None
        if ":" not in symbol or symbol.count("-") > 1:
            self.notes.append(f"{symbol}: not a future or perpetual; not imported")
            return None
        if is_inverse_symbol(symbol):
            self.notes.append(
                f"{symbol}: inverse (coin-settled) contract; not imported (only linear "
                "contracts are supported)"
            )
            return None
        side = _text(raw.get("side")).lower()
        entry = _number(raw.get("entryPrice"))
        if side not in ("long", "short") or not entry or entry <= 0:
            self.notes.append(f"{symbol}: no side or entry price in the answer; not imported")
            return None
        mode = self.margin_mode(raw)
        # Kept whatever the mode says here: some venues only tell the mode later
        # (complete()); positions() drops it for cross positions.
        margin = self.isolated_margin(raw)
        return ImportedPosition(
            venue=self.venue,
            symbol=symbol,
            side=side,  # type: ignore[arg-type]
            size=contracts * self.contract_size(symbol, raw),
            entry_price=entry,
            leverage=_leverage(raw.get("leverage")),
            margin_mode=mode,
            margin_usd=margin if margin and margin > 0 else None,
        )

    async def funding(self, symbols: Iterable[str]) -> list[FundingPayment]:
        if not self.exchange.has.get("fetchFundingHistory"):
            return []
        payments: list[FundingPayment] = []
        for symbol in dict.fromkeys(s for s in symbols if not _dated(s)):
            rows = await self.exchange.fetch_funding_history(symbol)
            payments += [p for p in (self.payment(row) for row in rows) if p is not None]
        return payments

    def payment(self, row: Mapping[str, Any]) -> FundingPayment | None:
        symbol = _text(row.get("symbol"))
        stamp = _number(row.get("timestamp"))
        amount = _number(row.get("amount"))
        if not symbol or stamp is None or amount is None:
            return None
        # One payment per contract and funding time: the key when the venue gives no id.
        ident = _text(row.get("id")) or f"{symbol}@{int(stamp)}"
        return FundingPayment(
            venue=self.venue,
            id=ident,
            symbol=symbol,
            code=_text(row.get("code")),
            timestamp_ms=int(stamp),
            amount=amount,
        )


def _dated(symbol: str) -> bool:
    return "-" in symbol.split(":")[-1]


class BinanceReader(VenueReader):
    """Binance spot wallet plus the USDⓈ-M futures account."""

    async def balances(self) -> tuple[dict[str, float], float]:
        spot = await self.exchange.fetch_balance({"type": "spot"})
        totals = {a: _number(q) or 0.0 for a, q in (spot.get("total") or {}).items()}
        futures = await self.exchange.fetch_balance({"type": "swap", "subType": "linear"})
        cross = 0.0
        for asset in (futures.get("info") or {}).get("assets") or []:
            name = _text(asset.get("asset"))
            # The unified 'total' is the margin balance (uPnL in); the wallet is this.
            wallet = _number(asset.get("crossWalletBalance")) or 0.0
            if not wallet:
                continue
            if name in self.stablecoins:
                cross += wallet
            else:
                self.notes.append(
                    f"{wallet:g} {name} in the futures wallet is not counted as collateral"
                )
        return totals, cross

    async def raw_positions(self) -> list[Mapping[str, Any]]:
        return await self.exchange.fetch_positions(None, {"subType": "linear"})

    def isolated_margin(self, raw: Mapping[str, Any]) -> float | None:
        # isolatedWallet is the isolated wallet itself; ccxt's collateral adds the uPnL.
        return _number((raw.get("info") or {}).get("isolatedWallet"))

    async def complete(self, positions: list[ImportedPosition]) -> list[ImportedPosition]:
        if not positions:
            return positions
        symbols = [p.symbol for p in positions]
        leverages = await self.exchange.fetch_leverages(symbols, {"subType": "linear"})
        completed = []
        for p in positions:
            entry = leverages.get(p.symbol) or {}
            key = "longLeverage" if p.side == "long" else "shortLeverage"
            leverage = _leverage(entry.get(key), 0.0) or _leverage(entry.get("leverage"), 0.0)
            if not leverage:
                self.notes.append(f"{p.symbol}: no leverage from the exchange; 1x assumed")
                leverage = 1.0
            mode = entry.get("marginMode")
            mode = mode if mode in ("isolated", "cross") else p.margin_mode
            completed.append(replace(p, leverage=leverage, margin_mode=mode))
        return completed


class UnifiedWalletReader(VenueReader):
    """One wallet for spot and derivatives (Bybit unified, OKX trading account)."""

    def wallet_rows(self, balance: Mapping[str, Any]) -> list[tuple[str, float]]:
        raise NotImplementedError

    async def balances(self) -> tuple[dict[str, float], float]:
        balance = await self.exchange.fetch_balance()
        spot: dict[str, float] = {}
        cross = 0.0
        for coin, wallet in self.wallet_rows(balance):
            if coin in self.stablecoins:
                cross += wallet
            elif wallet > 0:
                spot[coin] = spot.get(coin, 0.0) + wallet
        if spot:
            self.notes.append(
                f"{self.venue}: spot coins sit in the same wallet as the futures margin; "
                "they are imported as holdings and the stablecoins as the cross wallet"
            )
        return spot, cross


class BybitReader(UnifiedWalletReader):
    def wallet_rows(self, balance: Mapping[str, Any]) -> list[tuple[str, float]]:
        accounts = ((balance.get("info") or {}).get("result") or {}).get("list") or []
        rows = []
        for account in accounts:
            for coin in account.get("coin") or []:
                wallet = _number(coin.get("walletBalance"))
                if wallet:
                    rows.append((_text(coin.get("coin")), wallet))
        return rows

    async def raw_positions(self) -> list[Mapping[str, Any]]:
        return await self.exchange.fetch_positions(None, {"subType": "linear"})

    def isolated_margin(self, raw: Mapping[str, Any]) -> float | None:
        return _number((raw.get("info") or {}).get("positionBalance"))

    async def complete(self, positions: list[ImportedPosition]) -> list[ImportedPosition]:
        if not positions:
            return positions
        # The unified account's margin mode is the account's, not the position's.
        info = await self.exchange.privateGetV5AccountInfo()
        mode_name = _text(((info or {}).get("result") or {}).get("marginMode")).upper()
        mode: MarginMode = "isolated" if mode_name == "ISOLATED_MARGIN" else "cross"
        return [replace(p, margin_mode=mode) for p in positions]


class OkxReader(UnifiedWalletReader):
    def wallet_rows(self, balance: Mapping[str, Any]) -> list[tuple[str, float]]:
        rows = []
        for account in (balance.get("info") or {}).get("data") or []:
            for detail in account.get("details") or []:
                # cashBal is the wallet; eq (ccxt's total) adds the uPnL.
                wallet = _number(detail.get("cashBal"))
                if wallet:
                    rows.append((_text(detail.get("ccy")), wallet))
        return rows

    def margin_mode(self, raw: Mapping[str, Any]) -> MarginMode:
        mode = _text((raw.get("info") or {}).get("mgnMode")) or _text(raw.get("marginMode"))
        return "isolated" if mode.lower() == "isolated" else "cross"

    def isolated_margin(self, raw: Mapping[str, Any]) -> float | None:
        return _number((raw.get("info") or {}).get("margin"))

    def position(self, raw: Mapping[str, Any]) -> ImportedPosition | None:
        position = super().position(raw)
        if position is not None and position.leverage == 1.0:
            lever = _leverage((raw.get("info") or {}).get("lever"))
            if lever != 1.0:
                position = replace(position, leverage=lever)
        return position


READERS: dict[str, type[VenueReader]] = {
    "binance": BinanceReader,
    "bybit": BybitReader,
    "okx": OkxReader,
}
SUPPORTED_VENUES = tuple(READERS)


def reader_for(exchange: Any, venue: str, stablecoins: Sequence[str]) -> VenueReader:
    cls = READERS.get(venue)
    if cls is None:
        raise ValueError(
            f"import from {venue!r} is not supported (supported: {', '.join(SUPPORTED_VENUES)})"
        )
    return cls(exchange, venue, stablecoins)
