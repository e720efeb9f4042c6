"""Alerts: thresholds of [alerts] crossed at current prices, and a hysteresis
tracker so that the app says each crossing once."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from core.model import MarketState, Portfolio, split_venue, venue_key
from core.report import Report
from core.risk.carry import single_leg_trades
from core.risk.settings import AlertThresholds
from core.risk.suggest import net_beta

KINDS = (
    "margin_ratio_warn",
    "margin_ratio_danger",
    "liquidation_distance",
    "basis",
    "funding_apr",
    "funding_flip",
    "stale",
    "single_leg",
    "net_beta",
)
# Severity within a family: a higher one supersedes a lower one for the same target.
_SEVERITY = {"margin_ratio_warn": 1, "margin_ratio_danger": 2}


@dataclass(frozen=True)
class Alert:
    kind: str
    target: str  # a position id, a symbol, "account" / "account:<venue>", or "book"
    value: float | None
    threshold: float
    message: str

    @property
    def family(self) -> str:
        return "margin_ratio" if self.kind.startswith("margin_ratio") else self.kind

    @property
    def key(self) -> tuple[str, str]:
        return (self.family, self.target)

    @property
    def severity(self) -> int:
        return _SEVERITY.get(self.kind, 1)

    @property
    def urgent(self) -> bool:
        return self.kind in ("margin_ratio_danger", "liquidation_distance", "single_leg")

    def to_json(self) -> dict:
        value = self.value if self.value is None or math.isfinite(self.value) else None
        return {
            "kind": self.kind,
            "target": self.target,
            "value": value,
            "threshold": self.threshold,
            "message": self.message,
        }


def _ratio_text(value: float | None) -> str:
    return "undefined (no margin balance)" if value is None else f"{value * 100:.1f} %"


def _margin_alert(target: str, what: str, ratio: float | None, t: AlertThresholds) -> Alert | None:
    """Danger supersedes warn: at most one margin alert per target."""
    if ratio is None or ratio >= t.margin_ratio_danger:
        return Alert(
            "margin_ratio_danger",
            target,
            ratio,
            t.margin_ratio_danger,
            f"{what} margin ratio {_ratio_text(ratio)} at or above danger "
            f"{t.margin_ratio_danger * 100:g} %",
        )
    if ratio >= t.margin_ratio_warn:
        return Alert(
            "margin_ratio_warn",
            target,
            ratio,
            t.margin_ratio_warn,
            f"{what} margin ratio {_ratio_text(ratio)} at or above warn "
            f"{t.margin_ratio_warn * 100:g} %",
        )
    return None


def _columns(report: Report, *names: str) -> list[np.ndarray]:
    """Position columns as numpy (nulls as NaN): alerts read 1,000 rows without
    building 1,000 row objects."""
    frame = report.position_frame
    return [frame[n].cast(pl.Float64).to_numpy() for n in names]  # a null reads as NaN


def margin_ratios(report: Report, at_least: float = 0.0) -> list[tuple[str, str, float | None]]:
    """(target, label, ratio) of every venue's cross account and every isolated position
    whose margin ratio (the engine's) is undefined or >= at_least."""
    out: list[tuple[str, str, float | None]] = []
    several = len(report.accounts) > 1
    for account in report.accounts:
        ratio = account.cross_margin_ratio
        if ratio is None or ratio >= at_least:
            target = f"account:{account.venue}" if several else "account"
            out.append((target, f"cross account ({account.venue})", ratio))
    frame = report.position_frame
    if frame.height == 0:
        return out
    ids = frame["id"].to_list()
    isolated = (frame["margin_mode"] == "isolated").to_numpy()
    (ratios,) = _columns(report, "margin_ratio")
    with np.errstate(invalid="ignore"):
        flagged = isolated & (np.isnan(ratios) | (ratios >= at_least))
    for i in np.flatnonzero(flagged).tolist():
        value = float(ratios[i])
        out.append((ids[i], ids[i], None if math.isnan(value) else value))
    return out


def current_alerts(
    report: Report,
    portfolio: Portfolio,
    market: MarketState,
    thresholds: AlertThresholds,
    previous_funding: Mapping[str, float] | None = None,
) -> tuple[Alert, ...]:
    """Every threshold crossed now, at current prices (a report under a what-if shock
    carries the same current figures beside its shocked ones)."""
    return position_alerts(report, portfolio, market, thresholds) + market_alerts(
        report, market, thresholds, previous_funding
    )


def position_alerts(
    report: Report, portfolio: Portfolio, market: MarketState, thresholds: AlertThresholds
) -> tuple[Alert, ...]:
    """Margin ratio, distance to liquidation and single legs: what an edit can change.
    Read at current prices whatever the report's shock (its shocked_* figures are
    the scenario's, never read here)."""
    t = thresholds
    alerts: list[Alert] = []
    for target, what, ratio in margin_ratios(report, t.margin_ratio_warn):
        alert = _margin_alert(target, what, ratio, t)
        if alert is not None:
            alerts.append(alert)
    if t.liquidation_distance_pct is not None and report.position_frame.height:
        (distance,) = _columns(report, "distance_to_liquidation_pct")
        ids = report.position_frame["id"].to_list()
        with np.errstate(invalid="ignore"):
            near = np.isfinite(distance) & (distance < t.liquidation_distance_pct)
        for i in np.flatnonzero(near).tolist():
            d = float(distance[i])
            alerts.append(
                Alert(
                    "liquidation_distance",
                    ids[i],
                    d,
                    t.liquidation_distance_pct,
                    f"{ids[i]} is {d:.2f} % from liquidation "
                    f"(alert under {t.liquidation_distance_pct:g} %)",
                )
            )
    for leg in single_leg_trades(portfolio, market):
        alerts.append(
            Alert(
                "single_leg",
                leg.position_id,
                None,
                0.0,
                f"{leg.position_id}: basis trade with a single leg ({leg.reason})",
            )
        )
    return tuple(alerts)


def market_alerts(
    report: Report,
    market: MarketState,
    thresholds: AlertThresholds,
    previous_funding: Mapping[str, float] | None = None,
) -> tuple[Alert, ...]:
    """Basis, funding APR, funding flips and stale quotes: the same for any book on
    one market state (the app checks them once per tick, not per keystroke)."""
    t = thresholds
    alerts: list[Alert] = []
    for b in report.basis:
        # One target per venue's contract: 'BTC/USDT:USDT', or '...@bybit' on another venue.
        key = venue_key(b.symbol, market.venue_of(b.venue))
        if t.basis_pct is not None:
            value = b.annualized_pct if b.kind == "future" else b.basis_pct
            what = "annualized basis" if b.kind == "future" else "basis"
            if value is not None and abs(value) >= t.basis_pct:
                alerts.append(
                    Alert(
                        "basis",
                        key,
                        value,
                        t.basis_pct,
                        f"{key} {what} {value:+.2f} % beyond ±{t.basis_pct:g} %",
                    )
                )
        if (
            t.funding_apr_pct is not None
            and b.funding_apr_pct is not None
            and abs(b.funding_apr_pct) >= t.funding_apr_pct
        ):
            alerts.append(
                Alert(
                    "funding_apr",
                    key,
                    b.funding_apr_pct,
                    t.funding_apr_pct,
                    f"{key} funding APR {b.funding_apr_pct:+.2f} % beyond ±{t.funding_apr_pct:g} %",
                )
            )
        previous = (previous_funding or {}).get(key)
        rate = b.funding_rate
        if previous is not None and rate is not None and previous * rate < 0:
            alerts.append(
                Alert(
                    "funding_flip",
                    key,
                    rate,
                    0.0,
                    f"{key} funding flipped from {previous * 100:+.4f} % to "
                    f"{rate * 100:+.4f} %: "
                    + ("shorts now pay longs" if rate < 0 else "longs now pay shorts"),
                )
            )
    alerts.extend(stale_alerts(market, t))
    return tuple(alerts)


def stale_alerts(market: MarketState, t: AlertThresholds) -> list[Alert]:
    """A quote older than stale_s (else the feed's stale_after_s), or a feed not live."""
    limit_s = t.stale_s if t.stale_s is not None else market.stale_after_ms / 1000.0
    out = []
    # Spot tickers by symbol ('BTC/USDT', with '@venue' off the default venue), contracts
    # by their key.
    quotes = [(venue_key(q.symbol, split_venue(k)[1]), q.ts_ms) for k, q in market.spot.items()]
    quotes += [(k, q.ts_ms) for k, q in market.contracts.items()]
    for symbol, ts in quotes:
        age_s = (market.clock_ms - ts) / 1000.0 if ts > 0 else None
        if market.status in ("stale", "offline") or age_s is None or age_s > limit_s:
            shown = "never quoted" if age_s is None else f"last quote {age_s:.0f} s old"
            out.append(
                Alert(
                    "stale",
                    symbol,
                    age_s,
                    limit_s,
                    f"{symbol} is stale ({shown}, feed {market.status}; limit {limit_s:g} s)",
                )
            )
    return out


def net_beta_alert(report: Report, band: tuple[float, float] | None) -> Alert | None:
    """The book's net beta outside its target band (the app's alert)."""
    if band is None:
        return None
    beta = net_beta(report)
    if beta is None:
        return None
    low, high = band
    if low <= beta <= high:
        return None
    edge = low if beta < low else high
    return Alert(
        "net_beta",
        "book",
        beta,
        edge,
        f"net beta {beta:+.2f} outside its band [{low:g}, {high:g}]",
    )


class AlertTracker:
    """Hysteresis: an alert is new when its target enters the family's state, or moves
    up in it (warn to danger); nothing more while it stays, until it clears."""

    def __init__(self) -> None:
        self._active: dict[tuple[str, str], int] = {}

    @property
    def active(self) -> Mapping[tuple[str, str], int]:
        return self._active

    def update(self, alerts: Iterable[Alert]) -> list[Alert]:
        """The alerts to announce now (each crossing once)."""
        fresh: list[Alert] = []
        now: dict[tuple[str, str], int] = {}
        for alert in alerts:
            now[alert.key] = max(now.get(alert.key, 0), alert.severity)
            if alert.severity > self._active.get(alert.key, 0):
                fresh.append(alert)
        self._active = now
        return fresh
