"""Reading a venue's account through real ccxt exchanges fed ccxt's recorded answers.

Only `exchange.fetch` (the HTTP layer) is replaced: ccxt builds and signs the requests,
maps the errors (its own `handle_errors` on the recorded error bodies) and parses the
answers as it does live. Answers are routed by URL path (private URLs carry a signature).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import ccxt
import pytest

from core.importer.accounts import reader_for
from core.importer.run import ImportFailure, make_exchange, read_venue

RECORDED = Path(__file__).parent / "fixtures" / "ccxt"
STABLE = ("USDT", "USDC", "FDUSD")
# Bybit's account info (v5/account/info) has no recorded answer in ccxt's static data;
# this body has the shape Bybit documents, with the margin mode under test.
BYBIT_ACCOUNT_INFO = {
    "retCode": 0,
    "retMsg": "OK",
    "result": {"marginMode": "REGULAR_MARGIN", "unifiedMarginStatus": 4},
    "retExtInfo": {},
    "time": 1736866023302,
}


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text())


def method_entry(name: str, method: str, description: str) -> dict[str, Any]:
    entries = recorded(name)["methods"][method]
    return next(e for e in entries if e["description"] == description)


def recorded_markets(exchange: str) -> dict[str, Any]:
    markets = recorded(f"{exchange}_markets.json")
    if exchange == "binance":
        # The stored binance markets use decimal-places precision; ccxt 4.5 reads tick sizes.
        for market in markets.values():
            precision = market.get("precision") or {}
            for key, value in list(precision.items()):
                if isinstance(value, int):
                    precision[key] = 10.0**-value
    return markets


class RecordedHttp:
    """Stands in for `exchange.fetch`: answers by URL path; an error answer goes through
    the exchange's own `handle_errors`, which raises the ccxt error it maps to."""

    def __init__(self, exchange: Any, routes: dict[str, Any]) -> None:
        self.exchange = exchange
        self.routes = routes
        self.errors: dict[str, tuple[int, dict[str, Any]]] = {}
        self.urls: list[str] = []
        self.headers: list[dict[str, Any]] = []

    async def __call__(self, url: str, method: str = "GET", headers=None, body=None) -> Any:
        self.urls.append(url)
        self.headers.append(dict(headers or {}))
        path = urlparse(url).path
        for fragment, (status, answer) in self.errors.items():
            if path.endswith(fragment):
                text = json.dumps(answer)
                self.exchange.handle_errors(
                    status, "error", url, method, {}, text, answer, headers, body
                )
                raise ccxt.ExchangeError(text)  # an error body ccxt did not map
        for fragment, answer in self.routes.items():
            if path.endswith(fragment):
                return copy.deepcopy(answer)
        raise ccxt.ExchangeNotAvailable(f"no recorded answer for {path}")


def binance_routes(futures_account: str = "Linear swap balance") -> dict[str, Any]:
    account = "binance_account_responses.json"
    if futures_account == "account endpoint":
        futures = method_entry(
            "binance_responses.json",
            "fetchPositions",
            "Fetch linear positions using account endnpoint",
        )["httpResponse"]
    else:
        futures = method_entry(account, "fetchBalance", futures_account)["httpResponse"]
    return {
        "/api/v3/account": method_entry(account, "fetchBalance", "Spot balance")["httpResponse"],
        "/fapi/v3/account": futures,
        "/fapi/v2/account": futures,
        "/fapi/v3/positionRisk": method_entry(
            "binance_responses.json", "fetchPositions", "Fetch linear positions without symbols"
        )["httpResponse"],
        # fetchLeverages reads the symbol configuration, the endpoint of this recording.
        "/fapi/v1/symbolConfig": method_entry(
            account, "fetchMarginMode", "linear swap fetch margin mode"
        )["httpResponse"],
        # Recorded on the portfolio-margin income endpoint; its rows have the shape of
        # fapi/v1/income's.
        "/fapi/v1/income": method_entry(
            account, "fetchFundingHistory", "fetch portfolio margin funding history"
        )["httpResponse"],
    }


def bybit_routes(margin_mode: str = "REGULAR_MARGIN") -> dict[str, Any]:
    account = "bybit_account_responses.json"
    info = copy.deepcopy(BYBIT_ACCOUNT_INFO)
    info["result"]["marginMode"] = margin_mode
    return {
        "/v5/account/wallet-balance": method_entry(
            account, "fetchBalance", "balance after availableToWithdraw update"
        )["httpResponse"],
        "/v5/position/list": method_entry(
            "bybit_responses.json", "fetchPositions", "Fetch linear position"
        )["httpResponse"],
        "/v5/account/info": info,
        "/v5/execution/list": method_entry(
            account, "fetchFundingHistory", "linear funding history"
        )["httpResponse"],
    }


def okx_routes() -> dict[str, Any]:
    entry = recorded("okx_responses.json")["methods"]["fetchPositions"][0]
    balance = method_entry("okx_account_responses.json", "fetchBalance", "spot balance")
    return {
        "/api/v5/account/positions": entry["httpResponse"],
        "/api/v5/account/balance": balance["httpResponse"],
    }


ROUTES = {"binance": binance_routes, "bybit": bybit_routes, "okx": okx_routes}


def offline_exchange(venue: str, routes: dict[str, Any] | None = None) -> tuple[Any, RecordedHttp]:
    """The exchange the import itself makes (keys from the environment), offline."""
    exchange = make_exchange(venue)
    exchange.enableRateLimit = False
    exchange.set_markets(recorded_markets(venue))
    if venue == "binance":
        # fetchPositions reads the brackets ccxt recorded beside the positions.
        exchange.extend_exchange_options(recorded("binance_responses.json")["options"])
    if venue == "bybit":
        # The recorded balance is a unified account's: ccxt would ask the account first.
        exchange.options["enableUnifiedMargin"] = False
        exchange.options["enableUnifiedAccount"] = True
    http = RecordedHttp(exchange, routes if routes is not None else ROUTES[venue]())
    exchange.fetch = http
    return exchange, http


@pytest.fixture(autouse=True)
def read_only_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for venue in ("BINANCE", "BYBIT", "OKX"):
        monkeypatch.setenv(f"SYMBIOSIS_{venue}_API_KEY", f"{venue}-KEY-MARKER-1f2e")
        monkeypatch.setenv(f"SYMBIOSIS_{venue}_SECRET", f"{venue}-SECRET-MARKER-9d8c")
    monkeypatch.setenv("SYMBIOSIS_OKX_PASSWORD", "OKX-PASSWORD-MARKER-7b6a")


async def read(venue: str, routes: dict[str, Any] | None = None) -> Any:
    exchange, http = offline_exchange(venue, routes)
    try:
        return await reader_for(exchange, venue, STABLE).read(), http
    finally:
        await exchange.close()


async def test_binance_spot_wallet_becomes_holdings_and_zero_balances_are_dropped():
    account, _ = await read("binance")
    # Recorded spot balances: BTC 0, LTC 0.919741, ETH 0.02229833.
    assert dict(account.spot) == {"ETH": 0.02229833, "LTC": 0.919741}


async def test_binance_cross_wallet_is_the_wallet_balance_not_the_margin_balance():
    routes = binance_routes(futures_account="account endpoint")
    account, _ = await read("binance", routes)
    # USDT walletBalance 3.72964781 (its marginBalance 4.27203287 adds the uPnL
    # 0.54238506) + USDC 22.00000000 = 25.72964781; the zero-wallet assets add nothing.
    assert account.cross_wallet_usd == pytest.approx(25.72964781, abs=1e-9)


async def test_binance_v3_positions_get_their_leverage_from_the_symbol_configuration():
    account, http = await read("binance")
    (position,) = account.positions
    # positionRisk v3 reports no leverage (ccxt: leverage null); symbolConfig says 20x cross.
    assert position.symbol == "BTC/USDT:USDT"
    assert (position.side, position.size, position.entry_price) == ("long", 0.009, 67445.9)
    assert position.leverage == 20.0
    assert position.margin_mode == "cross" and position.margin_usd is None
    assert any(urlparse(u).path.endswith("/fapi/v1/symbolConfig") for u in http.urls)


async def test_binance_isolated_positions_take_the_isolated_wallet_not_ccxts_collateral():
    # The recorded answers, switched to isolated: symbolConfig says ISOLATED and the
    # position row carries an isolated wallet of 30 USDT (and ccxt's collateral would
    # add the uPnL 0.51106678 to it).
    routes = binance_routes()
    routes["/fapi/v1/symbolConfig"] = [
        {**routes["/fapi/v1/symbolConfig"][0], "marginType": "ISOLATED"}
    ]
    row = {
        **routes["/fapi/v3/positionRisk"][0],
        "isolatedWallet": "30",
        "isolatedMargin": "30.51106678",
    }
    routes["/fapi/v3/positionRisk"] = [row]
    account, _ = await read("binance", routes)
    (position,) = account.positions
    assert position.margin_mode == "isolated" and position.margin_usd == 30.0


async def test_binance_funding_history_is_read_for_the_open_contracts():
    account, _ = await read("binance")
    (payment,) = account.funding
    assert payment.id == "8082457372019390060"
    assert (payment.symbol, payment.code) == ("BTC/USDT:USDT", "USDT")
    assert payment.timestamp_ms == 1707465600000 and payment.amount == -0.04618913


async def test_binance_inverse_positions_are_refused_with_a_note_not_mispriced():
    exchange, _ = offline_exchange("binance")
    try:
        reader = reader_for(exchange, "binance", STABLE)
        parsed = method_entry("binance_responses.json", "fetchPositions", "inverse positions")
        assert reader.position(parsed["parsedResponse"][0]) is None
        assert "BTC/USD:BTC: inverse (coin-settled) contract" in reader.notes[0]
    finally:
        await exchange.close()


async def test_bybit_unified_wallet_splits_into_holdings_and_a_stablecoin_cross_wallet():
    account, _ = await read("bybit")
    # walletBalance per coin (no uPnL): USDC 5848.20013918 + USDT 3322.25896609.
    assert account.cross_wallet_usd == pytest.approx(9170.45910527, abs=1e-8)
    assert dict(account.spot) == {
        "ADA": 38.68128,
        "BTC": 0.85581394,
        "ETH": 0.09174816,
        "LTC": 0.02101953,
        "XRP": 40.05245888,
    }
    assert any("same wallet" in note for note in account.notes)


async def test_bybit_margin_mode_comes_from_the_account_not_the_position():
    cross, _ = await read("bybit")
    (position,) = cross.positions
    assert (position.symbol, position.side, position.size) == ("LTC/USDT:USDT", "long", 1.2)
    assert position.entry_price == 64.59947917 and position.leverage == 6.0
    assert position.margin_mode == "cross" and position.margin_usd is None
    isolated, _ = await read("bybit", bybit_routes("ISOLATED_MARGIN"))
    (position,) = isolated.positions
    # An isolated position's wallet is its positionBalance.
    assert position.margin_mode == "isolated" and position.margin_usd == 11.699649


async def test_bybit_funding_history_keeps_each_payment_with_its_execution_id():
    account, _ = await read("bybit")
    assert [(p.id, p.amount) for p in account.funding] == [
        ("fc52e306-0607-4e3e-884b-2882921d6059", -0.00236058),
        ("c88057b1-d3b3-4a19-861a-ae79a8762796", 0.0007797),
        ("89102b18-96c4-42d2-bc26-131699036635", -0.00708126),
    ]


async def test_okx_sizes_are_contracts_times_the_contract_size():
    exchange, _ = offline_exchange("okx")
    try:
        reader = reader_for(exchange, "okx", STABLE)
        raw = await exchange.fetch_positions(["LTC/USDT:USDT"])
        position = reader.position(raw[0])
        # pos "1" contract x contractSize 1 LTC (the market) = 1 LTC; lever "3", mgnMode cross.
        assert position is not None
        assert position.size == raw[0]["contracts"] * 1.0 == 1.0
        assert position.leverage == 3.0 and position.margin_mode == "cross"
        market = exchange.markets["LTC/USDT:USDT"]
        scaled = {**raw[0], "contracts": 40.0, "contractSize": None}
        assert reader.position(scaled).size == 40.0 * market["contractSize"]
        btc = {**raw[0], "symbol": "BTC/USDT:USDT", "contracts": 3.0, "contractSize": None}
        # BTC-USDT-SWAP: 0.01 BTC a contract -> 3 contracts are 0.03 BTC.
        assert reader.position(btc).size == pytest.approx(0.03)
    finally:
        await exchange.close()


async def test_okx_wallet_is_the_cash_balance_and_spot_coins_become_holdings():
    account, _ = await read("okx")
    # cashBal of USDC 2973.521 + USDT 0.000258796; TUSD is not in this stablecoin list.
    assert account.cross_wallet_usd == pytest.approx(2973.521258796, abs=1e-12)
    assert dict(account.spot) == {"BTC": 1.06126645222, "ETH": 5.0, "LTC": 10.29979, "TUSD": 3000.0}
    (position,) = account.positions
    assert (position.symbol, position.size, position.leverage) == ("LTC/USDT:USDT", 1.0, 3.0)
    # No funding-bills answer is recorded: the book is still read, with a note.
    assert account.funding == ()
    assert "okx: funding history not read (ExchangeNotAvailable)" in account.notes


@pytest.mark.parametrize(
    ("venue", "path", "status", "body", "expected"),
    [
        (
            "binance",
            "/api/v3/account",
            401,
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
            "binance: the API key was refused: wrong key or secret, an IP restriction, or a "
            "missing read permission",
        ),
        (
            "binance",
            "/api/v3/account",
            401,
            {"code": -1022, "msg": "Signature for this request is not valid."},
            "binance: the API key was refused: wrong key or secret, or expired",
        ),
        (
            "binance",
            "/api/v3/account",
            429,
            {"code": -1003, "msg": "Too many requests; current limit is 6000 per minute."},
            "binance: rate limit reached; wait a minute and import again",
        ),
        (
            "bybit",
            "/v5/account/wallet-balance",
            200,
            {"retCode": 10003, "retMsg": "API key is invalid.", "result": {}, "time": 1},
            "bybit: the API key was refused: wrong key or secret, or expired",
        ),
        (
            "bybit",
            "/v5/account/wallet-balance",
            200,
            {
                "retCode": 10010,
                "retMsg": "Unmatched IP, please check your API key's bound IP addresses.",
                "result": {},
                "time": 1,
            },
            "bybit: the key is restricted to other IP addresses",
        ),
        (
            "bybit",
            "/v5/account/wallet-balance",
            200,
            {"retCode": 10005, "retMsg": "Permission denied", "result": {}, "time": 1},
            "bybit: the key lacks a permission the import needs",
        ),
        (
            "bybit",
            "/v5/account/wallet-balance",
            200,
            {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": 1},
            "bybit: rate limit reached",
        ),
    ],
)
async def test_exchange_refusals_become_one_clear_line(venue, path, status, body, expected):
    def factory(name: str) -> Any:
        exchange, http = offline_exchange(name)
        http.errors[path] = (status, body)
        return exchange

    with pytest.raises(ImportFailure) as failure:
        await read_venue(venue, STABLE, factory)
    message = str(failure.value)
    assert message.startswith(expected)
    assert "\n" not in message and "MARKER" not in message


async def test_binance_2015_after_signed_calls_succeeded_is_a_temporary_ban_not_a_bad_key():
    # ccxt reads -2015 as a temporary ban (DDoSProtection) once a signed call has worked:
    # here the two balance calls succeed and the position call is refused.
    def factory(name: str) -> Any:
        exchange, http = offline_exchange(name)
        http.errors["/fapi/v3/positionRisk"] = (
            401,
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        )
        return exchange

    with pytest.raises(ImportFailure) as failure:
        await read_venue("binance", STABLE, factory)
    assert str(failure.value).startswith("binance: rate limit reached; wait a minute")


async def test_an_exchange_error_that_echoes_the_key_is_redacted():
    key = "BINANCE-KEY-MARKER-1f2e"

    def factory(name: str) -> Any:
        exchange, http = offline_exchange(name)

        async def refuse(url: str, method: str = "GET", headers=None, body=None) -> Any:
            raise ccxt.AuthenticationError(f"binance rejected key {key} for {url}")

        exchange.fetch = refuse
        return exchange

    with pytest.raises(ImportFailure) as failure:
        await read_venue("binance", STABLE, factory)
    assert key not in str(failure.value) and "[redacted]" in str(failure.value)


async def test_a_venue_without_a_key_says_which_variables_to_set(monkeypatch):
    monkeypatch.delenv("SYMBIOSIS_OKX_API_KEY")
    monkeypatch.setattr("core.keys._from_keyring", lambda exchange_id: {})
    with pytest.raises(ImportFailure) as failure:
        await read_venue("okx", STABLE)
    assert str(failure.value) == (
        "okx: no read-only API key: set SYMBIOSIS_OKX_API_KEY and SYMBIOSIS_OKX_SECRET "
        "(and SYMBIOSIS_OKX_PASSWORD) or store them in the OS keyring"
    )


async def test_requests_carry_the_key_only_in_the_signed_headers_never_in_a_url():
    _, http = await read("binance")
    key = "BINANCE-KEY-MARKER-1f2e"
    secret = "BINANCE-SECRET-MARKER-9d8c"
    assert all(key not in url and secret not in url for url in http.urls)
    assert all(secret not in json.dumps(h) for h in http.headers)
