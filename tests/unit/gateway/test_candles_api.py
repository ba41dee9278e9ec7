"""``GET /api/v1/market/candles/{symbol}`` on in-memory ports: bars, ranges, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.events import Candle, ScannerSuggestion
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.history import OpenOnUse
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.store.ports import StoreError

REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY, tick_size_paise=10,
)  # fmt: skip
KEY = REL.instrument_key
URL = "/api/v1/market/candles/RELIANCE"


def _at(day: int, hh: int = 0, mm: int = 0) -> int:
    return datetime_to_ns(datetime(2026, 12, day, hh, mm, tzinfo=IST))


def _minute(day: int, hh: int, mm: int, o: int, h: int, lo: int, c: int, v: int) -> Candle:
    return Candle(KEY, 60, _at(day, hh, mm), o, h, lo, c, v)


def _day(day: int, o: int, h: int, lo: int, c: int, v: int) -> Candle:
    return Candle(KEY, 86_400, _at(day), o, h, lo, c, v)


class FakeHistory:
    """The tick store's candles (and no scanner picks), recording each read."""

    def __init__(self, candles: list[Candle]) -> None:
        self.stored = sorted(candles, key=lambda c: c.ts_start)
        self.reads: list[tuple[int, int, int]] = []
        self.down = False

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        if self.down:
            raise StoreError("QuestDB query failed: connection refused (host db:8812)")
        self.reads.append((start_ns, end_ns, interval_seconds))
        return [
            c
            for c in self.stored
            if c.instrument_key == instrument_key
            and c.interval_seconds == interval_seconds
            and start_ns <= c.ts_start < end_ns
        ]

    def latest_suggestions(self, limit: int = 20) -> list[ScannerSuggestion]:
        return []


MINUTES = [
    _minute(7, 15, 29, 99_000, 99_500, 98_900, 99_100, 10),  # Monday's last minute
    _minute(8, 9, 15, 100_050, 100_500, 100_000, 100_400, 100),
    _minute(8, 9, 16, 100_400, 101_000, 100_300, 100_900, 50),
    _minute(8, 9, 19, 100_900, 100_950, 99_800, 99_900, 30),
    _minute(8, 9, 20, 99_900, 100_000, 99_500, 99_600, 70),
    _minute(8, 9, 31, 99_600, 99_700, 99_000, 99_050, 5),
]
NOW = _at(8, 9, 32)  # Tuesday 2026-12-08, 09:32 IST


@pytest.fixture
def history() -> FakeHistory:
    return FakeHistory([*MINUTES, _day(4, 97_000, 98_000, 96_000, 97_500, 1000)])


def _client(ports: GatewayPorts) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(GatewaySettings(), ports))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def _ports(history: FakeHistory | None, now: int = NOW) -> GatewayPorts:
    return GatewayPorts(
        LiveMarketState(), InstrumentIndex.build([REL]), clock=FakeClock(now), history=history
    )


@pytest.fixture
async def client(history: FakeHistory) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(_ports(history)) as c:
        yield c


async def test_one_minute_candles_of_todays_session_by_default(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get(URL)).json()
    assert body["instrument_key"] == KEY
    assert body["trading_symbol"] == "RELIANCE"
    assert body["interval"] == "1m"
    assert body["start"] == "2026-12-08T00:00:00+05:30"
    assert body["end"] == "2026-12-09T00:00:00+05:30"
    assert len(body["candles"]) == 5  # Monday's minute is not today's session
    assert body["candles"][0] == {
        "ts": "2026-12-08T09:15:00+05:30",
        "open": "1000.50",
        "high": "1005.00",
        "low": "1000.00",
        "close": "1004.00",
        "volume": 100,
        "oi": 0,
    }
    by_key = (await client.get("/api/v1/market/candles/NSE_EQ%7CINE002A01018")).json()
    assert by_key == body


async def test_five_and_fifteen_minute_bars_are_aligned_to_the_session_open(
    client: httpx.AsyncClient,
) -> None:
    five = (await client.get(URL, params={"interval": "5m"})).json()["candles"]
    assert [(c["ts"][11:16], c["open"], c["high"], c["low"], c["close"], c["volume"])
            for c in five] == [
        ("09:15", "1000.50", "1010.00", "998.00", "999.00", 180),
        ("09:20", "999.00", "1000.00", "995.00", "996.00", 70),
        ("09:30", "996.00", "997.00", "990.00", "990.50", 5),
    ]  # fmt: skip
    fifteen = (await client.get(URL, params={"interval": "15m"})).json()["candles"]
    assert [(c["ts"][11:16], c["close"], c["volume"]) for c in fifteen] == [
        ("09:15", "996.00", 250),
        ("09:30", "990.50", 5),
    ]
    # a from inside a bar starts at that bar, so the first bar is whole
    mid = (await client.get(URL, params={"interval": "5m", "from": "2026-12-08T09:17"})).json()
    assert mid["start"] == "2026-12-08T09:15:00+05:30"
    assert mid["candles"][0]["volume"] == 180


async def test_day_bars_from_stored_days_then_todays_minutes(
    client: httpx.AsyncClient, history: FakeHistory
) -> None:
    body = (await client.get(URL, params={"interval": "1d"})).json()
    # 30 sessions back from Tuesday 2026-12-08 (weekends skipped)
    assert body["start"] == "2026-10-27T00:00:00+05:30"
    assert body["end"] == "2026-12-09T00:00:00+05:30"
    assert [(c["ts"], c["open"], c["close"], c["volume"]) for c in body["candles"]] == [
        ("2026-12-04T00:00:00+05:30", "970.00", "975.00", 1000),  # stored day candle
        ("2026-12-07T00:00:00+05:30", "990.00", "991.00", 10),  # from Monday's minutes
        ("2026-12-08T00:00:00+05:30", "1000.50", "990.50", 255),  # today so far
    ]
    # minutes are read only after the last stored day candle
    assert history.reads[-1] == (_at(5), _at(9), 60)
    # a 1d range covers whole days: from back to 00:00, to on to the next 00:00
    window = {"interval": "1d", "from": "2026-12-07T12:00", "to": "2026-12-08T10:00"}
    cut = (await client.get(URL, params=window)).json()
    assert (cut["start"], cut["end"]) == ("2026-12-07T00:00:00+05:30", "2026-12-09T00:00:00+05:30")
    assert len(cut["candles"]) == 2


async def test_from_and_to_as_dates_and_datetimes(client: httpx.AsyncClient) -> None:
    monday = (await client.get(URL, params={"from": "2026-12-07", "to": "2026-12-07"})).json()
    assert [c["ts"] for c in monday["candles"]] == ["2026-12-07T15:29:00+05:30"]
    both = (await client.get(URL, params={"from": "2026-12-07", "to": "2026-12-08"})).json()
    assert len(both["candles"]) == 6  # a date "to" includes its day
    window = {"from": "2026-12-08T03:46:00Z", "to": "2026-12-08T09:20:00+05:30"}
    cut = (await client.get(URL, params=window)).json()  # 03:46 UTC is 09:16 IST
    assert [c["ts"][11:16] for c in cut["candles"]] == ["09:16", "09:19"]
    naive = (await client.get(URL, params={"from": "2026-12-08 09:31"})).json()
    assert [c["ts"][11:16] for c in naive["candles"]] == ["09:31"]


async def test_on_a_weekend_the_default_is_the_last_session() -> None:
    saturday = _at(12, 11, 0)
    friday = [Candle(KEY, 60, _at(11, 15, 0), 100, 101, 99, 100, 7)]
    async with _client(_ports(FakeHistory(friday), now=saturday)) as client:
        body = (await client.get(URL)).json()
    assert body["start"] == "2026-12-11T00:00:00+05:30"
    assert body["end"] == "2026-12-13T00:00:00+05:30"
    assert [c["ts"] for c in body["candles"]] == ["2026-12-11T15:00:00+05:30"]


async def test_bad_ranges_are_400_and_bad_values_422(client: httpx.AsyncClient) -> None:
    r = await client.get(URL, params={"from": "2026-12-08", "to": "2026-12-01"})
    assert r.status_code == 400
    assert "must be before to" in r.json()["detail"]
    r = await client.get(URL, params={"from": "2026-10-01", "to": "2026-12-01"})
    assert r.status_code == 400
    assert "at most 31 days" in r.json()["detail"]
    ok = await client.get(URL, params={"interval": "5m", "from": "2026-10-01", "to": "2026-12-01"})
    assert ok.status_code == 200  # 92 days of 5m
    r = await client.get(URL, params={"from": "2026-02-30"})
    assert r.status_code == 422
    (issue,) = r.json()["detail"]
    assert issue["loc"] == ["query", "from"]
    assert "not a valid date" in issue["msg"]
    r = await client.get(URL, params={"to": "9999-12-31"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "to"]
    for bad in ({"from": "yesterday"}, {"interval": "2m"}, {"to": "2026-12-08T25"}):
        assert (await client.get(URL, params=bad)).status_code == 422, bad


async def test_unknown_symbol_404_and_no_store_503(history: FakeHistory) -> None:
    async with _client(_ports(history)) as client:
        r = await client.get("/api/v1/market/candles/NOSUCH")
        assert r.status_code == 404
        assert "unknown symbol 'NOSUCH'" in r.json()["detail"]
        assert (await client.get("/api/v1/market/candles/FOO%7CBAR")).status_code == 422
        history.down = True
        r = await client.get(URL)
        assert r.status_code == 503
        assert r.json()["detail"] == "the tick store does not answer; try again shortly"
    async with _client(_ports(None)) as client:
        r = await client.get(URL)
        assert r.status_code == 503
        assert "no tick store" in r.json()["detail"]


async def test_openapi_documents_the_candles_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"]["/api/v1/market/candles/{symbol}"]["get"]
    assert {"200", "400", "404", "422", "503"} <= set(op["responses"])
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == {"symbol", "interval", "from", "to"}
    assert params["interval"]["schema"]["enum"] == ["1m", "5m", "15m", "1d"]
    assert spec["components"]["schemas"]["CandlesOut"]["examples"]


class ServerStoreStub(FakeHistory):
    """A server's store that refuses to open until told to."""

    def __init__(self) -> None:
        super().__init__([MINUTES[1]])
        self.is_open = False
        self.answers = False
        self.opens = 0

    def open(self, timeout: float | None = None) -> ServerStoreStub:
        self.opens += 1
        if not self.answers:
            raise StoreError("cannot open QuestDB tick store: connection refused")
        self.is_open = True
        return self

    def close(self) -> None:
        self.is_open = False


def test_a_server_store_is_opened_on_use_and_retried_after_a_pause() -> None:
    clock = FakeClock(NOW)
    stub = ServerStoreStub()
    store = OpenOnUse(stub, clock)
    with pytest.raises(StoreError, match="connection refused"):
        store.candles(KEY, _at(8), _at(9))
    stub.answers = True
    with pytest.raises(StoreError, match="connection refused"):  # not retried at once
        store.candles(KEY, _at(8), _at(9))
    assert stub.opens == 1
    clock.advance(5.0)
    assert store.candles(KEY, _at(8), _at(9)) == [MINUTES[1]]
    assert store.latest_suggestions() == []
    assert stub.opens == 2
    store.close()
    assert not stub.is_open
