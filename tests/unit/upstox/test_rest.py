"""The REST client against httpx.MockTransport: routing, parsing, errors and retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import httpx
import pytest

from quant.core.clock import FakeClock
from quant.core.events import DepthLevel
from quant.upstox.config import RestConfig
from quant.upstox.errors import (
    UpstoxAuthError,
    UpstoxDecodeError,
    UpstoxRateLimitError,
    UpstoxServerError,
    UpstoxTransportError,
    UpstoxValidationError,
)
from quant.upstox.models import ModifyOrderRequest, OrderRequest, OrderType, TransactionType
from quant.upstox.ratelimit import UpstoxRateLimits
from quant.upstox.rest import UpstoxRestClient

Handler = Callable[[httpx.Request], httpx.Response]
CONFIG = RestConfig(api_base="https://api.test", hft_base="https://hft.test", algo_name="algo-1")


def ok(data: object, **extra: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data, **extra})


def err(status: int, code: str, message: str = "x") -> httpx.Response:
    body = {
        "status": "error",
        "errors": [{"errorCode": code, "error_code": code, "message": message}],
    }
    return httpx.Response(status, json=body)


class Recorder:
    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        return item


def client(handler: Handler, sleeps: list[float] | None = None) -> UpstoxRestClient:
    async def fake_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return UpstoxRestClient(
        lambda: "tok-123",
        CONFIG,
        limits=UpstoxRateLimits(clock=FakeClock(0), sleep=fake_sleep),
        transport=httpx.MockTransport(handler),
        sleep=fake_sleep,
    )


async def test_historical_candles_are_parsed_sorted_and_path_encoded() -> None:
    rec = Recorder(
        ok(
            {
                "candles": [
                    ["2025-01-02T09:16:00+05:30", 101.5, 102, 101, 101.95, 1200, 0],
                    ["2025-01-02T09:15:00+05:30", 100, 101.55, 99.5, 101.5, 1500, 7],
                ]
            }
        )
    )
    async with client(rec) as api:
        candles = await api.historical_candles(
            "NSE_EQ|INE002A01018", "minutes", 1, date(2025, 1, 2), date(2025, 1, 1)
        )
    request = rec.requests[0]
    assert request.url.host == "api.test"
    assert request.url.raw_path.decode() == (
        "/v3/historical-candle/NSE_EQ%7CINE002A01018/minutes/1/2025-01-02/2025-01-01"
    )
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert "X-Algo-Name" not in request.headers
    first, second = candles
    assert first.ts_start < second.ts_start
    assert (first.open, first.high, first.low, first.close, first.volume, first.oi) == (
        10000, 10155, 9950, 10150, 1500, 7,
    )  # fmt: skip
    assert first.interval_seconds == 60
    assert first.ts_start == 1735789500 * 10**9


async def test_full_quotes_are_rekeyed_by_instrument_token() -> None:
    quote = {
        "instrument_token": "NSE_EQ|INE848E01016",
        "symbol": "NHPC",
        "last_price": 87.45,
        "volume": 1000,
        "ohlc": {"open": 86, "high": 88, "low": 85.5, "close": 87},
        "depth": {
            "buy": [{"quantity": 10, "price": 87.4, "orders": 1}],
            "sell": [{"quantity": 20, "price": 87.5, "orders": 2}],
        },
        "last_trade_time": "1740729552723",
    }
    rec = Recorder(ok({"NSE_EQ:NHPC": quote}))
    async with client(rec) as api:
        quotes = await api.full_quotes(["NSE_EQ|INE848E01016"])
    q = quotes["NSE_EQ|INE848E01016"]
    assert (q.symbol, q.last_price, q.open, q.low) == ("NHPC", 8745, 8600, 8550)
    assert q.depth == (DepthLevel(8740, 10, 8750, 20),)
    assert q.last_trade_time_ns == 1740729552723 * 10**6
    assert q.timestamp_ns == 0  # no "timestamp" sent
    assert (q.lower_circuit, q.upper_circuit) == (0, 0)
    assert rec.requests[0].url.params["instrument_key"] == "NSE_EQ|INE848E01016"


async def test_full_quote_circuit_limits_and_timestamp() -> None:
    quote = {
        "instrument_token": "NSE_EQ|INE848E01016",
        "last_price": 87.45,
        "lower_circuit_limit": 78.71,
        "upper_circuit_limit": 96.19,
        "timestamp": "2025-02-28T13:29:12.723+05:30",
        "last_trade_time": "1740729552000",
    }
    bad = {**quote, "instrument_token": "NSE_EQ|X", "timestamp": "yesterday"}
    rec = Recorder(ok({"NSE_EQ:NHPC": quote, "NSE_EQ:X": bad}))
    async with client(rec) as api:
        quotes = await api.full_quotes(["NSE_EQ|INE848E01016", "NSE_EQ|X"])
    q = quotes["NSE_EQ|INE848E01016"]
    assert (q.lower_circuit, q.upper_circuit) == (7871, 9619)
    assert q.timestamp_ns == 1740729552723 * 10**6
    assert quotes["NSE_EQ|X"].timestamp_ns == 0  # not a time: the quote is still taken


async def test_ltp_option_chain_holidays_status_and_authorize() -> None:
    leg = {
        "instrument_key": "NSE_FO|1",
        "market_data": {"ltp": 10.5, "volume": 5, "oi": 100, "bid_price": 10.4, "bid_qty": 75},
        "option_greeks": {"iv": 14.2, "delta": 0.5, "pop": 40.1},
    }
    rec = Recorder(
        ok({"NSE_EQ:A": {"instrument_token": "NSE_EQ|A1", "last_price": 5.05, "ltq": 1, "cp": 5}}),
        ok(
            [
                {
                    "expiry": "2026-11-26",
                    "strike_price": 24100,
                    "underlying_key": "NSE_INDEX|Nifty 50",
                    "underlying_spot_price": 24012.35,
                    "pcr": 0.9,
                    "call_options": leg,
                },
                {
                    "expiry": "2026-11-26",
                    "strike_price": 24000,
                    "underlying_key": "NSE_INDEX|Nifty 50",
                    "underlying_spot_price": 24012.35,
                    "pcr": 1.1,
                    "put_options": leg,
                },
            ]
        ),
        ok(
            [
                {
                    "date": "2026-12-25",
                    "description": "Christmas",
                    "holiday_type": "TRADING_HOLIDAY",
                    "closed_exchanges": ["NSE", "BSE"],
                    "open_exchanges": [],
                }
            ]
        ),
        ok({"exchange": "NSE", "status": "NORMAL_OPEN", "last_updated": 1764000000000}),
        ok({"authorized_redirect_uri": "wss://feed.test/v3/feeds?code=abc"}),
    )
    async with client(rec) as api:
        ltp = await api.ltp(["NSE_EQ|A1"])
        chain = await api.option_chain("NSE_INDEX|Nifty 50", date(2026, 11, 26))
        holidays = await api.holidays()
        status = await api.market_status("NSE")
        url = await api.authorize_feed()
    assert ltp["NSE_EQ|A1"].last_price == 505
    assert [r.strike_paise for r in chain] == [2400000, 2410000]
    assert chain[0].call is None and chain[0].put is not None
    assert chain[1].call is not None and chain[1].call.bid_quantity == 75
    assert chain[1].call.ltp == 1050 and chain[1].call.iv == 14.2
    assert holidays[0].date == date(2026, 12, 25) and holidays[0].closed_exchanges == ("NSE", "BSE")
    assert (status.exchange, status.status) == ("NSE", "NORMAL_OPEN")
    assert url == "wss://feed.test/v3/feeds?code=abc"


async def test_orders_go_to_the_hft_host_with_algo_name_and_rupee_prices() -> None:
    rec = Recorder(
        ok({"order_ids": ["250101000001", "250101000002"]}, metadata={"latency": 12}),
        ok({"order_id": "250101000001"}, metadata={"latency": 9}),
        ok({"order_id": "250101000001"}, metadata={"latency": 8}),
    )
    order = OrderRequest(
        "NSE_EQ|INE002A01018", 10, TransactionType.BUY, OrderType.LIMIT, price=123455, tag="t1"
    )
    async with client(rec) as api:
        ack = await api.place_order(order)
        await api.modify_order(ModifyOrderRequest("250101000001", OrderType.LIMIT, 5, price=123400))
        cancel = await api.cancel_order("250101000001", algo_name="other")
    place, modify, cancel_req = rec.requests
    assert ack.order_ids == ("250101000001", "250101000002") and ack.latency_ms == 12
    assert (place.method, place.url.host, place.url.path) == ("POST", "hft.test", "/v3/order/place")
    body = json.loads(place.content)
    assert body["price"] == 1234.55 and body["instrument_token"] == "NSE_EQ|INE002A01018"
    assert body["transaction_type"] == "BUY" and body["product"] == "I"
    assert place.headers["X-Algo-Name"] == "algo-1"
    assert (modify.method, modify.url.path) == ("PUT", "/v3/order/modify")
    assert json.loads(modify.content)["price"] == 1234.0
    assert (cancel_req.method, cancel_req.url.params["order_id"]) == ("DELETE", "250101000001")
    assert cancel_req.headers["X-Algo-Name"] == "other"
    assert cancel.order_ids == ("250101000001",)


async def test_safe_gets_retry_with_backoff_then_succeed() -> None:
    sleeps: list[float] = []
    rec = Recorder(
        err(503, "UDAPI100500"), httpx.ReadTimeout("slow"), ok({"order_id": "1", "status": "open"})
    )
    async with client(rec, sleeps) as api:
        details = await api.order_details("1")
    assert details.status == "open"
    assert len(rec.requests) == 3
    assert len(sleeps) == 2 and 0.125 <= sleeps[0] <= 0.25 and 0.25 <= sleeps[1] <= 0.5


async def test_retries_are_bounded_for_rate_limits() -> None:
    rec = Recorder(err(429, "UDAPI10005", "Too Many Request Sent"))
    async with client(rec, []) as api:
        with pytest.raises(UpstoxRateLimitError, match="UDAPI10005") as info:
            await api.order_book()
    assert len(rec.requests) == CONFIG.max_retries + 1
    assert info.value.status == 429 and info.value.code == "UDAPI10005"


async def test_expired_token_is_a_clear_auth_error_without_retries() -> None:
    rec = Recorder(err(401, "UDAPI100050", "Invalid token used to access API"))
    async with client(rec, []) as api:
        with pytest.raises(UpstoxAuthError, match="Invalid token used to access API"):
            await api.holidays()
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "failure", [err(503, "UDAPI100500"), httpx.ConnectTimeout("no route"), err(429, "UDAPI10005")]
)
async def test_order_placement_is_never_retried(failure: httpx.Response | Exception) -> None:
    rec = Recorder(failure)
    order = OrderRequest("NSE_EQ|A1", 1, TransactionType.SELL, OrderType.MARKET)
    async with client(rec, []) as api:
        with pytest.raises((UpstoxServerError, UpstoxTransportError, UpstoxRateLimitError)):
            await api.place_order(order)
    assert len(rec.requests) == 1


async def test_validation_errors_and_error_envelopes_under_2xx() -> None:
    rec = Recorder(err(400, "UDAPI1148", "Invalid date range"), err(200, "UDAPI10005"))
    async with client(rec, []) as api:
        with pytest.raises(UpstoxValidationError, match="UDAPI1148: Invalid date range"):
            await api.intraday_candles("NSE_EQ|A1", "minutes", 1)
        with pytest.raises(UpstoxRateLimitError):
            await api.ltp(["NSE_EQ|A1"])


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, content=b"<html>gateway</html>"), "not JSON"),
        (ok({"candles": [["2025-01-02T09:15:00+05:30", "x", 1, 1, 1, 1]]}), "bad candle"),
        (ok({"candles": "nope"}), "expected a list"),
        (ok([1, 2]), "expected an object"),
        (httpx.Response(200, json={"status": "partial"}), "status is 'partial'"),
    ],
)
async def test_malformed_bodies_give_decode_errors(response: httpx.Response, match: str) -> None:
    async with client(Recorder(response), []) as api:
        with pytest.raises(UpstoxDecodeError, match=match):
            await api.historical_candles("NSE_EQ|A1", "days", 1, date(2025, 1, 2))


def test_order_request_validation() -> None:
    with pytest.raises(ValueError, match="MARKET"):
        OrderRequest("NSE_EQ|A1", 1, TransactionType.BUY, OrderType.MARKET, price=100)
    with pytest.raises(ValueError, match="positive"):
        OrderRequest("NSE_EQ|A1", 0, TransactionType.BUY, OrderType.LIMIT, price=100)


async def test_ohlc_v3_and_option_greeks_v3_are_rekeyed_and_batched() -> None:
    bar = {"open": 10, "high": 12.5, "low": 9.95, "close": 12, "volume": 100, "ts": 1764000000000}
    greeks = {"instrument_token": "NSE_FO|1", "last_price": 5.5, "ltq": 75, "volume": 10,
              "cp": 5, "iv": 14.25, "vega": 1.5, "gamma": 0.001, "theta": -3.2, "delta": 0.45,
              "oi": 1500.0}  # fmt: skip
    rec = Recorder(
        ok(
            {
                "NSE_EQ:A": {
                    "instrument_token": "NSE_EQ|A1",
                    "last_price": 12,
                    "prev_ohlc": bar,
                    "live_ohlc": bar,
                }
            }
        ),
        ok({"NSE_FO:X": greeks}),
    )
    async with client(rec) as api:
        ohlc = await api.ohlc(["NSE_EQ|A1"], "I1")
        got = await api.option_greeks([f"NSE_FO|{i}" for i in range(60)])
    q = ohlc["NSE_EQ|A1"]
    assert q.live is not None and q.live.interval == "I1"
    assert (q.live.open, q.live.high, q.live.low, q.live.volume) == (1000, 1250, 995, 100)
    assert q.live.ts_ns == 1764000000000 * 10**6 and q.last_price == 1200
    assert rec.requests[0].url.params["interval"] == "I1"
    g = got["NSE_FO|1"]
    assert (g.last_price, g.oi, g.iv, g.delta, g.close_price) == (550, 1500, 14.25, 0.45, 500)
    # 60 keys -> two requests of at most 50 (Upstox's option-greek limit)
    sizes = [len(r.url.params["instrument_key"].split(",")) for r in rec.requests[1:]]
    assert sizes == [50, 10]
