"""Hedge suggestion: the size change on one contract that brings an asset's hedge
ratio (or the book's net beta) to a target, applied through core.whatif."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from core import whatif
from core.edits import EditError
from core.engine import RiskEngine
from core.model import MarketState, Portfolio, Settings
from core.report import PositionRow, Report
from core.risk import RiskInputError
from core.whatif import Outcome

# Leverage and mode of a hedge opened where the asset has none (the defaults of --add).
NEW_HEDGE_LEVERAGE = whatif.DEFAULT_LEVERAGE
NEW_HEDGE_MODE = whatif.DEFAULT_MODE
MAX_RATIO = 3.0


@dataclass(frozen=True)
class HedgeSuggestion:
    asset: str
    symbol: str
    side: str  # the side of the contract changed (or opened)
    size_change: float  # base units; + adds to that side, - reduces it
    hedge_ratio_after: float | None
    margin_usd: float  # initial margin of the change at the hedge's leverage (- frees it)
    funding_usd_per_day: float  # + the change receives, - it pays, at the current rate
    position_id: str | None  # the hedge changed; None when one is opened
    new_size: float
    leverage: float
    margin_mode: str
    wallet: str  # where the margin comes from (or goes back to)
    apply: str  # the --edit / --add line that applies it
    net_beta_after: float | None = None
    note: str = ""  # why applying it would be refused, if it would

    def to_json(self) -> dict:
        return {
            "asset": self.asset,
            "symbol": self.symbol,
            "side": self.side,
            "size_change": self.size_change,
            "hedge_ratio_after": self.hedge_ratio_after,
            "margin_usd": self.margin_usd,
            "funding_usd_per_day": self.funding_usd_per_day,
            "position_id": self.position_id,
            "leverage": self.leverage,
            "margin_mode": self.margin_mode,
            "wallet": self.wallet,
            "apply": self.apply,
            "net_beta_after": self.net_beta_after,
            "note": self.note,
        }


def parse_target(text: str) -> tuple[str, float]:
    """'BTC=0.8' -> ('BTC', 0.8)."""
    asset, sep, ratio_text = text.partition("=")
    asset = asset.strip().upper()
    if not sep or not asset:
        raise RiskInputError(f"--suggest-hedge is ASSET=RATIO, e.g. BTC=0.8 (got {text!r})")
    try:
        ratio = float(ratio_text.strip())
    except ValueError:
        raise RiskInputError(
            f"--suggest-hedge {text!r}: RATIO must be a fraction, e.g. 0.8"
        ) from None
    if not math.isfinite(ratio) or ratio < 0 or ratio > MAX_RATIO:
        raise RiskInputError(
            f"--suggest-hedge {text!r}: RATIO is a fraction from 0 to {MAX_RATIO:g} (0.8 = 80 %)"
        )
    return asset, ratio


def core_value(report: Report, asset: str) -> float:
    """Value of the asset's core (non-stable) holdings: the hedge ratio's denominator."""
    return sum(h.value_usd for h in report.holdings if h.asset == asset and not h.stable)


def hedge_delta(report: Report, asset: str) -> float:
    """Delta (USD) of the asset's hedge-book positions."""
    return sum(_delta(p) for p in report.positions if p.book == "hedge" and p.asset == asset)


def net_beta(report: Report) -> float | None:
    """Beta-weighted exposure per dollar of equity (None without equity)."""
    equity = report.totals.equity
    return report.totals.beta_weighted_exposure_usd / equity if equity > 0 else None


def suggest_hedge(
    portfolio: Portfolio,
    market: MarketState,
    asset: str,
    target_ratio: float,
    settings: Settings | None = None,
    engine: RiskEngine | None = None,
) -> HedgeSuggestion:
    """The change that brings -(hedge delta) / core value of `asset` to target_ratio."""
    engine = engine or RiskEngine()
    report = engine.compute(portfolio, market, 0.0, settings)
    core = core_value(report, asset)
    if core <= 0:
        raise RiskInputError(f"{asset}: no core holding with a price, so no hedge ratio to reach")
    # -(H + dD) / core = r  =>  dD = -r * core - H
    delta_change = -target_ratio * core - hedge_delta(report, asset)
    return _suggest(portfolio, market, settings, engine, report, asset, delta_change)


def suggest_net_beta(
    portfolio: Portfolio,
    market: MarketState,
    target_beta: float,
    settings: Settings | None = None,
    engine: RiskEngine | None = None,
) -> HedgeSuggestion:
    """The change on the BTC hedge (beta 1) that brings the book's net beta to target.

    Opening or resizing a future at its mark moves no equity, so
    (B + dD) / equity = target  =>  dD = target * equity - B.
    """
    engine = engine or RiskEngine()
    report = engine.compute(portfolio, market, 0.0, settings)
    if report.totals.equity <= 0:
        raise RiskInputError("no equity: the net beta is undefined")
    delta_change = target_beta * report.totals.equity - report.totals.beta_weighted_exposure_usd
    return _suggest(portfolio, market, settings, engine, report, "BTC", delta_change)


def apply_suggestion(
    portfolio: Portfolio, market: MarketState, suggestion: HedgeSuggestion
) -> Outcome:
    """The suggestion as the same edit a user would type (raises EditError if refused)."""
    if suggestion.position_id is not None:
        if suggestion.new_size <= 0:
            return whatif.delete(portfolio, market, suggestion.position_id)
        return whatif.edit(
            portfolio, market, suggestion.position_id, "size", repr(suggestion.new_size)
        )
    return whatif.add(portfolio, market, "hedge", suggestion.apply.split(None, 1)[1])


def _delta(p: PositionRow) -> float:
    return p.notional_usd if p.side == "long" else -p.notional_usd


def _hedge_position(report: Report, asset: str) -> PositionRow | None:
    """The asset's biggest hedge (by notional) with a mark, first in the book on a tie."""
    hedges = [
        p
        for p in report.positions
        if p.book == "hedge" and p.asset == asset and p.mark_price and p.mark_price > 0
    ]
    return max(hedges, key=lambda p: p.notional_usd, default=None)


def _perpetual(market: MarketState, asset: str) -> str:
    preferred = f"{asset}/USDT:USDT"
    quote = market.contracts.get(preferred)
    if quote is not None and quote.mark:
        return preferred
    for symbol, q in sorted(market.contracts.items()):
        # The default venue's contracts only: a new hedge opens where the book's wallet is.
        if "@" not in symbol and q.base == asset and q.kind == "swap" and q.linear and q.mark:
            return symbol
    raise RiskInputError(f"{asset}: no hedge contract and no quoted perpetual to open one on")


def _suggest(
    portfolio: Portfolio,
    market: MarketState,
    settings: Settings | None,
    engine: RiskEngine,
    report: Report,
    asset: str,
    delta_change: float,
) -> HedgeSuggestion:
    existing = _hedge_position(report, asset)
    if existing is not None:
        sign = 1.0 if existing.side == "long" else -1.0
        mark = existing.mark_price
        size_change = sign * delta_change / mark
        new_size = existing.size + size_change
        if new_size < -1e-12 * max(existing.size, 1.0):
            raise RiskInputError(
                f"{asset}: reaching the target takes {existing.id} past zero to the other "
                f"side; close it first (--delete {existing.id})"
            )
        new_size = max(new_size, 0.0)
        symbol, side, leverage, mode = (
            existing.symbol,
            existing.side,
            existing.leverage,
            existing.margin_mode,
        )
        position_id: str | None = existing.id
        venue = portfolio.position(existing.id).venue
        apply_line = (
            f"{existing.id} size {new_size!r}" if new_size > 0 else f"--delete {existing.id}"
        )
    else:
        symbol = _perpetual(market, asset)
        mark = market.mark(symbol) or 0.0
        side = "long" if delta_change > 0 else "short"
        size_change = abs(delta_change) / mark
        new_size = size_change
        leverage, mode, position_id, venue = NEW_HEDGE_LEVERAGE, NEW_HEDGE_MODE, None, ""
        apply_line = f"hedge {symbol} {side} {size_change!r} {mark!r} {leverage:g} {mode}"
    margin = size_change * mark / leverage
    quote = market.contracts.get(market.contract_key(symbol, venue))
    funding = 0.0
    if quote is not None and quote.kind == "swap" and quote.funding_rate is not None:
        interval = quote.funding_interval_h or (settings or Settings()).funding_interval_h
        # Longs pay shorts when the rate is positive: the change receives -delta x rate.
        funding = -delta_change * quote.funding_rate * 24.0 / interval
    venue_name = venue or market.exchange or "default venue"
    wallet = (
        f"cross wallet ({venue_name}) to its isolated wallet"
        if mode == "isolated"
        else f"free margin of the cross wallet ({venue_name})"
    )
    suggestion = HedgeSuggestion(
        asset=asset,
        symbol=symbol,
        side=side,
        size_change=size_change,
        hedge_ratio_after=None,
        margin_usd=margin,
        funding_usd_per_day=funding,
        position_id=position_id,
        new_size=new_size,
        leverage=leverage,
        margin_mode=mode,
        wallet=wallet,
        apply=apply_line,
    )
    # The ratio after is the engine's, on the edited draft: the edit path is the proof.
    try:
        edited = apply_suggestion(portfolio, market, suggestion).portfolio
    except EditError as exc:
        # Refused (e.g. the cross wallet is short): the figures the edit would give.
        core = core_value(report, asset)
        equity = report.totals.equity
        return replace(
            suggestion,
            hedge_ratio_after=-(hedge_delta(report, asset) + delta_change) / core
            if core > 0
            else None,
            net_beta_after=(report.totals.beta_weighted_exposure_usd + delta_change) / equity
            if equity > 0
            else None,
            note=f"applying it would be refused: {exc}",
        )
    after = engine.compute(edited, market, 0.0, settings)
    ratio = next((a.hedge_ratio for a in after.assets if a.asset == asset), None)
    return replace(suggestion, hedge_ratio_after=ratio, net_beta_after=net_beta(after))
