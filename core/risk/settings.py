"""[alerts] and [fees] of config.toml, read for the risk tools.

core.config validates the margin-ratio thresholds for the engine; the other
alert thresholds and the fees are read here from the same file, with the same
file:line: key errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from core.config import _Fields, _read_toml, _table
from core.model import Settings

ALERT_KEYS = (
    "margin_ratio_warn",
    "margin_ratio_danger",
    "liquidation_distance_pct",
    "basis_pct",
    "funding_apr_pct",
    "stale_s",
    "net_beta_band",
)
FEE_KEYS = ("taker_pct", "maker_pct")
# A perpetual has no expiry: its round-trip fees are spread over this many days.
DEFAULT_CARRY_HORIZON_DAYS = 30.0


@dataclass(frozen=True)
class AlertThresholds:
    """When an alert fires; None leaves that kind unchecked (stale_s falls back to
    the feed's stale_after_s)."""

    margin_ratio_warn: float = 0.5
    margin_ratio_danger: float = 0.8
    liquidation_distance_pct: float | None = None
    basis_pct: float | None = None
    funding_apr_pct: float | None = None
    stale_s: float | None = None
    # Net beta (beta-weighted exposure / equity) outside [low, high]: the app's alert.
    net_beta_band: tuple[float, float] | None = None


@dataclass(frozen=True)
class Fees:
    """Trading fees of one venue, in percent of notional per fill."""

    taker_pct: float = 0.0
    maker_pct: float = 0.0


@dataclass(frozen=True)
class RiskSettings:
    alerts: AlertThresholds = field(default_factory=AlertThresholds)
    default_fees: Fees = field(default_factory=Fees)
    fees: Mapping[str, Fees] = field(default_factory=lambda: MappingProxyType({}))
    carry_horizon_days: float = DEFAULT_CARRY_HORIZON_DAYS

    def fees_of(self, venue: str) -> Fees:
        return self.fees.get(venue, self.default_fees)


def thresholds_from(settings: Settings) -> AlertThresholds:
    """Only the engine's margin thresholds (when no config file is at hand)."""
    return AlertThresholds(settings.margin_ratio_warn, settings.margin_ratio_danger)


def load_risk_settings(path: str | Path) -> RiskSettings:
    """Read [alerts] and [fees] of a config file; ConfigError names file, line and key."""
    data, source = _read_toml(Path(path).resolve())
    alerts_table = _table(source, data, "alerts")
    alerts = _Fields(source, alerts_table, "alerts")
    for key in alerts_table:
        if key not in ALERT_KEYS:
            raise alerts.fail(key, f"unknown key (known: {', '.join(ALERT_KEYS)})")
    band = None
    if "net_beta_band" in alerts_table:
        value = alerts_table["net_beta_band"]
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and value[0] <= value[1]
        ):
            raise alerts.fail("net_beta_band", f"must be [low, high] with low <= high ({value!r})")
        band = (float(value[0]), float(value[1]))
    thresholds = AlertThresholds(
        margin_ratio_warn=alerts.number("margin_ratio_warn", 0.5) or 0.5,
        margin_ratio_danger=alerts.number("margin_ratio_danger", 0.8) or 0.8,
        liquidation_distance_pct=alerts.number("liquidation_distance_pct", positive=True),
        basis_pct=alerts.number("basis_pct", positive=True),
        funding_apr_pct=alerts.number("funding_apr_pct", positive=True),
        stale_s=alerts.number("stale_s", positive=True),
        net_beta_band=band,
    )
    fees_table = _table(source, data, "fees")
    top = _Fields(source, fees_table, "fees")
    default = _fees(top, Fees())
    horizon = top.number("carry_horizon_days", DEFAULT_CARRY_HORIZON_DAYS, positive=True)
    per_venue: dict[str, Fees] = {}
    for key, value in fees_table.items():
        if key in (*FEE_KEYS, "carry_horizon_days"):
            continue
        if not isinstance(value, dict):
            raise top.fail(key, "unknown key: a venue's fees are a table ([fees.<venue>])")
        venue = _Fields(source, value, f"fees.{key}")
        for inner in value:
            if inner not in FEE_KEYS:
                raise venue.fail(inner, f"unknown key (known: {', '.join(FEE_KEYS)})")
        per_venue[key] = _fees(venue, default)
    return RiskSettings(
        alerts=thresholds,
        default_fees=default,
        fees=MappingProxyType(per_venue),
        carry_horizon_days=horizon or DEFAULT_CARRY_HORIZON_DAYS,
    )


def _fees(fields: _Fields, fallback: Fees) -> Fees:
    return Fees(
        taker_pct=fields.number("taker_pct", fallback.taker_pct, minimum=0.0) or 0.0,
        maker_pct=fields.number("maker_pct", fallback.maker_pct, minimum=0.0) or 0.0,
    )
