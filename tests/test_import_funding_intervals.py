"""Funding interval per perpetual: Binance's funding info, Bybit's market info, OKX's stamps."""

from __future__ import annotations

import copy

import pytest

from core.feeds.funding_info import (
    DEFAULT_INTERVAL_H,
    FundingIntervals,
    interval_from_timestamps,
)
from tests.test_feeds_ccxt import NOW_MS, FakeClock, binance, bybit, make_feed

# Binance's fapi/v1/fundingInfo lists only symbols with an adjusted cap, floor or interval.
# ccxt's static data has no recorded answer for it; this body has the shape Binance
# documents: ETH moved to 4-hour funding, BTC not listed (8 hours).
FUNDING_INFO = [
    {
        "symbol": "ETHUSDT",
        "adjustedFundingRateCap": "0.02000000",
        "adjustedFundingRateFloor": "-0.02000000",
        "fundingIntervalHours": 4,
        "disclaimer": False,
    }
]


async def test_binance_intervals_come_from_funding_info_and_unlisted_symbols_pay_every_8h():
    exchange, http = binance()
    http.routes["fapi/v1/fundingInfo"] = FUNDING_INFO
    try:
        feed = make_feed(exchange)
        state = await feed.poll_once()
    finally:
        await exchange.close()
    assert feed.funding_intervals.hours == {"BTC/USDT:USDT": 8.0, "ETH/USDT:USDT": 4.0}
    assert state.contracts["ETH/USDT:USDT"].funding_interval_h == 4.0
    assert state.contracts["BTC/USDT:USDT"].funding_interval_h == DEFAULT_INTERVAL_H


async def test_a_failed_funding_info_call_keeps_the_feed_live_and_waits_an_hour():
    exchange, http = binance()  # no fundingInfo answer recorded: the call fails
    clock = FakeClock()
    try:
        feed = make_feed(exchange, clock=clock)
        assert (await feed.poll_once()).status == "live"
        assert "no recorded answer" in feed.funding_intervals.problem
        calls = sum("fundingInfo" in url for url in http.urls)
        clock.now = NOW_MS + 30 * 60_000
        await feed.poll_once()
        assert sum("fundingInfo" in url for url in http.urls) == calls
        http.routes["fapi/v1/fundingInfo"] = FUNDING_INFO
        clock.now = NOW_MS + 61 * 60_000
        state = await feed.poll_once()
    finally:
        await exchange.close()
    assert feed.funding_intervals.problem == ""
    assert state.contracts["ETH/USDT:USDT"].funding_interval_h == 4.0


async def test_bybit_intervals_are_read_from_the_market_info_in_minutes():
    exchange, _ = bybit()
    try:
        intervals = FundingIntervals("bybit")
        await intervals.refresh(exchange, ["BTC/USDT:USDT"], NOW_MS)
        assert intervals.hours == {"BTC/USDT:USDT": 8.0}  # fundingInterval "480"
        # A contract moved to 4-hour funding (the same market, fundingInterval 240).
        market = copy.deepcopy(exchange.markets["ETH/USDT:USDT"])
        market["info"]["fundingInterval"] = "240"
        exchange.markets["ETH/USDT:USDT"] = market
        intervals.refreshed_at = None
        await intervals.refresh(exchange, ["ETH/USDT:USDT"], NOW_MS)
        assert intervals.hours["ETH/USDT:USDT"] == 4.0
    finally:
        await exchange.close()


def test_okx_style_funding_objects_give_their_interval_by_their_two_timestamps():
    funding = {"fundingTimestamp": 1_700_000_000_000, "nextFundingTimestamp": 1_700_014_400_000}
    # 14,400,000 ms apart = 4 hours.
    assert interval_from_timestamps(funding) == 4.0
    assert FundingIntervals("okx").fill("BTC/USDT:USDT", funding)["interval"] == "4h"
    assert interval_from_timestamps({"fundingTimestamp": 5}) is None


def test_an_interval_the_exchange_gave_is_kept():
    intervals = FundingIntervals("binance")
    intervals.hours["BTC/USDT:USDT"] = 4.0
    given = {"interval": "1h", "fundingRate": 0.0001}
    assert intervals.fill("BTC/USDT:USDT", given) is given
    assert intervals.fill("BTC/USDT:USDT", {"fundingRate": 0.0001})["interval"] == "4h"


@pytest.mark.parametrize("hours", [1.0, 4.0, 8.0])
def test_apr_follows_the_interval(hours):
    from core.margin import funding_apr_pct

    # 0.01 % every 8 h = 10.95 % a year; every 4 h twice that; every hour 8 times.
    assert funding_apr_pct(0.0001, hours) == pytest.approx(10.95 * 8.0 / hours)
