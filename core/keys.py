"""Read-only exchange API keys: from the environment or the OS keyring, never from a file.

Keys are looked up as SYMBIOSIS_<EXCHANGE>_API_KEY / _SECRET / _PASSWORD, then (only
when the optional `keyring` package is importable) in the OS keyring under the service
"symbiosis-<exchange>" with the user names "api_key", "secret" and "password". Nothing
here writes a key anywhere; `redact` scrubs every key value out of text before it is
shown, because exchange errors sometimes echo the request that carried a key.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Mapping

# ccxt's credential names -> the suffix of the environment variable (and keyring user).
CREDENTIAL_FIELDS = {"apiKey": "API_KEY", "secret": "SECRET", "password": "PASSWORD"}
KEYRING_SERVICE = "symbiosis-{exchange}"
REDACTED = "[redacted]"
# Shorter values are not scrubbed: a two-letter "secret" would blank ordinary words.
_MIN_SECRET_CHARS = 4


def env_prefix(exchange_id: str) -> str:
    """'binance' -> 'SYMBIOSIS_BINANCE_' (non-alphanumerics become '_')."""
    return "SYMBIOSIS_" + re.sub(r"[^A-Z0-9]", "_", exchange_id.upper()) + "_"


def _from_keyring(exchange_id: str) -> dict[str, str]:
    try:
        # Optional (`pip install symbiosis[keyring]`), so not a static import: the app
        # must start without it.
        keyring = importlib.import_module("keyring")
    except Exception:  # noqa: BLE001 - absent or broken backend: no keyring keys
        return {}
    found: dict[str, str] = {}
    service = KEYRING_SERVICE.format(exchange=exchange_id.lower())
    for field, suffix in CREDENTIAL_FIELDS.items():
        try:
            value = keyring.get_password(service, suffix.lower())
        except Exception:  # noqa: BLE001 - a locked or missing backend is not fatal
            return found
        if value:
            found[field] = value
    return found


def api_credentials(exchange_id: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """ccxt credentials for an exchange: environment first, then the OS keyring.

    Returns {} when no key is set (public data only). The environment wins field by
    field, so a password can come from the keyring while the key pair is in the env.
    """
    env = os.environ if environ is None else environ
    prefix = env_prefix(exchange_id)
    found = {
        field: env[prefix + suffix]
        for field, suffix in CREDENTIAL_FIELDS.items()
        if env.get(prefix + suffix)
    }
    if "apiKey" in found and "secret" in found:
        return found
    keyring_found = _from_keyring(exchange_id)
    return {**keyring_found, **found}


def has_private_keys(exchange_id: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a key pair (key and secret) is set for the exchange."""
    credentials = api_credentials(exchange_id, environ)
    return bool(credentials.get("apiKey") and credentials.get("secret"))


def secret_values(
    exchange_ids: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every key value that must never be shown: all SYMBIOSIS_*_API_KEY/SECRET/PASSWORD.

    The exchanges named also contribute their keyring values.
    """
    env = os.environ if environ is None else environ
    suffixes = tuple("_" + suffix for suffix in CREDENTIAL_FIELDS.values())
    values = [v for k, v in env.items() if k.startswith("SYMBIOSIS_") and k.endswith(suffixes)]
    for exchange_id in exchange_ids:
        values += list(api_credentials(exchange_id, env).values())
    # Longest first: a key that contains another is scrubbed whole.
    return sorted({v for v in values if len(v) >= _MIN_SECRET_CHARS}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret value (default: every key in the environment) replaced."""
    for value in secret_values() if secrets is None else secrets:
        if value and len(value) >= _MIN_SECRET_CHARS:
            text = text.replace(value, REDACTED)
    return text
