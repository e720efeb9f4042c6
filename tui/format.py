"""Number formatting for the panes: explicit units, consistent signs, '—' for none."""

from __future__ import annotations

import math

DASH = "—"


def _finite(value: float | None) -> float | None:
    """The value, or None when there is nothing to show (None, NaN, an infinity)."""
    return value if value is not None and math.isfinite(value) else None


def usd(value: float | None, signed: bool = False) -> str:
    """Whole dollars with separators: 12,345 / +1,200 / −300."""
    value = _finite(value)
    if value is None:
        return DASH
    text = f"{abs(value):,.0f}"
    if text == "0":
        return "0"
    if value < 0:
        return "−" + text
    return ("+" + text) if signed else text


def usd_cents(value: float | None, signed: bool = False) -> str:
    value = _finite(value)
    if value is None:
        return DASH
    text = f"{abs(value):,.2f}"
    if value < 0 and text != "0.00":
        return "−" + text
    return ("+" + text) if signed and text != "0.00" else text


def price(value: float | None) -> str:
    """Prices with precision by magnitude (60,123.4 / 2,501.25 / 0.9998)."""
    value = _finite(value)
    if value is None:
        return DASH
    magnitude = abs(value)
    if magnitude >= 10_000:
        return f"{value:,.1f}"
    if magnitude >= 100:
        return f"{value:,.2f}"
    if magnitude >= 1:
        return f"{value:,.4f}"
    return f"{value:.6f}"


def qty(value: float | None) -> str:
    value = _finite(value)
    if value is None:
        return DASH
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text or "0"


def pct(value: float | None, digits: int = 2, signed: bool = False) -> str:
    """A percent figure already in percent units (3.0 -> '3.00%')."""
    value = _finite(value)
    if value is None:
        return DASH
    text = f"{abs(value):.{digits}f}%"
    if value < 0 and float(text[:-1]) != 0:
        return "−" + text
    return ("+" + text) if signed and float(text[:-1]) != 0 else text


def ratio_pct(value: float | None, digits: int = 2) -> str:
    """A fraction shown as percent (0.0055 -> '0.55%')."""
    value = _finite(value)
    return DASH if value is None else pct(value * 100.0, digits)


def countdown(ms: float | None) -> str:
    """Time left as 7h05m / 4m10s; '—' when unknown, 'now' when due."""
    ms = _finite(ms)
    if ms is None:
        return DASH
    seconds = int(ms // 1000)
    if seconds <= 0:
        return "now"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{hours // 24}d{hours % 24:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


def age(ms: float | None) -> str:
    """How old data is: 3s / 2m / 1h."""
    ms = _finite(ms)
    if ms is None:
        return DASH
    seconds = max(int(ms // 1000), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def tone_of(value: float | None) -> str:
    value = _finite(value)
    if value is None or value == 0:
        return ""
    return "positive" if value > 0 else "negative"
