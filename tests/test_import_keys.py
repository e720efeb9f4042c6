"""Read-only keys: where they are looked up, and that no value survives `redact`."""

from __future__ import annotations

import sys
import types

from core.feeds.ccxt_feed import create_exchange
from core.keys import (
    REDACTED,
    api_credentials,
    env_prefix,
    has_private_keys,
    redact,
    secret_values,
)

ENV = {
    "SYMBIOSIS_BINANCE_API_KEY": "binance-key-0001",
    "SYMBIOSIS_BINANCE_SECRET": "binance-secret-0002",
    "SYMBIOSIS_OKX_API_KEY": "okx-key-0003",
    "SYMBIOSIS_OKX_SECRET": "okx-secret-0004",
    "SYMBIOSIS_OKX_PASSWORD": "okx-pass-0005",
    "HOME": "/home/ann",
}


def test_keys_come_from_the_exchanges_environment_variables():
    assert env_prefix("binance") == "SYMBIOSIS_BINANCE_"
    assert api_credentials("binance", ENV) == {
        "apiKey": "binance-key-0001",
        "secret": "binance-secret-0002",
    }
    assert api_credentials("okx", ENV)["password"] == "okx-pass-0005"
    assert api_credentials("bybit", ENV) == {}
    assert has_private_keys("binance", ENV) and not has_private_keys("bybit", ENV)


def test_the_keyring_is_asked_only_when_the_environment_has_no_key_pair(monkeypatch):
    asked: list[tuple[str, str]] = []

    def get_password(service: str, user: str) -> str | None:
        asked.append((service, user))
        return {"api_key": "ring-key-0006", "secret": "ring-secret-0007"}.get(user)

    # A stand-in module named keyring, with the one function keyring's API has for this.
    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    assert api_credentials("binance", ENV)["apiKey"] == "binance-key-0001"
    assert asked == []
    assert api_credentials("bybit", ENV) == {
        "apiKey": "ring-key-0006",
        "secret": "ring-secret-0007",
    }
    assert ("symbiosis-bybit", "api_key") in asked
    assert "ring-secret-0007" in secret_values(["bybit"], ENV)


def test_without_the_keyring_package_there_are_only_environment_keys(monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring raises ImportError
    assert api_credentials("bybit", ENV) == {}


def test_redact_replaces_every_key_value_and_keeps_the_rest():
    text = "binance 401 apiKey=binance-key-0001&sig=x secret binance-secret-0002 okx-pass-0005"
    cleaned = redact(text, secret_values([], ENV))
    assert cleaned == f"binance 401 apiKey={REDACTED}&sig=x secret {REDACTED} {REDACTED}"
    assert "HOME" not in "".join(secret_values([], ENV))


def test_redact_uses_the_environment_by_default(monkeypatch):
    monkeypatch.setenv("SYMBIOSIS_BYBIT_SECRET", "bybit-secret-0008")
    assert redact("echo bybit-secret-0008") == f"echo {REDACTED}"


async def test_the_feed_gets_its_keys_from_the_same_lookup(monkeypatch):
    monkeypatch.setenv("SYMBIOSIS_BINANCE_API_KEY", "feed-key-0009")
    monkeypatch.setenv("SYMBIOSIS_BINANCE_SECRET", "feed-secret-0010")
    exchange = create_exchange("binance", websocket=False)
    try:
        assert (exchange.apiKey, exchange.secret) == ("feed-key-0009", "feed-secret-0010")
    finally:
        await exchange.close()
