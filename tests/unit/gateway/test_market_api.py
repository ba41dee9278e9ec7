"""The REST gateway on in-memory ports: quotes, greeks, search, health, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from quant.core.events import (
    AggressorSide,
    DepthLevel,
    EnrichedTick,
    FeedMode,
    FeedOhlc,
    OptionGreeks,
    Tick,
)
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings

NIFTY = Instrument(
    "NSE_INDEX|Nifty 50", "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
)
REL = Instrument(
    "NSE_EQ|INE002A01018",
    "RELIANCE",
    "RELIANCE INDUSTRIES LTD",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    tick_size_paise=10,
    freeze_quantity=5000,
)
CE = Instrument(
    "NSE_FO|1",
    "NIFTY 25000 CE 26 NOV 26",
    "NIFTY",
    "NSE",
    "NSE_FO",
    InstrumentType.CALL,
    lot_size=75,
    expiry=date(2026, 11, 26),
    strike_paise=2_500_000,
    underlying_key=NIFTY.instrument_key,
)
T0 = 1_795_000_000_000_000_000


def _tick(key: str, ltp: int, ts: int = T0) -> Tick:
    return Tick(
        key,
        FeedMode.FULL,
        ts,
        ts + 1000,
        ltp,
        close_price=245_000,
        volume=1200,
        atp=246_010,
        depth=(DepthLevel(250_120, 40, 250_130, 25),),
        ohlc=(FeedOhlc("1d", 244_000, 251_000, 243_990, ltp, 1200, ts),),
    )


def _enriched(key: str, ts: int = T0, iv: float = float("nan")) -> EnrichedTick:
    return EnrichedTick(
        key,
        ts,
        ts + 1000,
        250_125,
        1200,
        246_012.34567,
        246_000.0,
        0.23,
        0.1,
        float("nan"),
        10,
        0.4,
        250_125.5,
        AggressorSide.BUY,
        5,
        700,
        500,
        3.2,
        ts + 2000,
        iv=iv,
        delta=0.5,
    )


@pytest.fixture
def state() -> LiveMarketState:
    return LiveMarketState()


Client = httpx.AsyncClient


def _client(ports: GatewayPorts, settings: GatewaySettings | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings or GatewaySettings(), ports))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def client(state: LiveMarketState) -> AsyncIterator[httpx.AsyncClient]:
    ports = GatewayPorts(market=state, instruments=InstrumentIndex.build([NIFTY, REL, CE]))
    async with _client(ports) as c:
        yield c


async def test_quote_by_symbol_in_exact_rupees(client: Client, state: LiveMarketState) -> None:
    state.apply(_tick(REL.instrument_key, 250_125))
    state.apply(_enriched(REL.instrument_key))
    body = (await client.get("/api/v1/market/quote/RELIANCE")).json()
    assert body["last_price"] == "2501.25"
    assert body["change"] == "51.25"
    assert body["change_percent"] == "2.09"
    ohlc = {"open": "2440.00", "high": "2510.00", "low": "2439.90", "close": "2501.25"}
    assert body["ohlc"] == ohlc
    assert body["depth"][0] == {
        "bid_price": "2501.20",
        "bid_quantity": 40,
        "ask_price": "2501.30",
        "ask_quantity": 25,
    }
    assert body["vwap"] == "2460.1235"
    assert body["imbalance"] == pytest.approx(0.23)
    assert body["spread"] == "0.10"
    assert body["as_of"].endswith("+05:30")


async def test_every_quote_says_its_source(state: LiveMarketState) -> None:
    state.apply(_tick(REL.instrument_key, 250_125))
    ports = GatewayPorts(market=state, instruments=InstrumentIndex.build([REL]))
    async with _client(ports) as cluster:  # a cluster gateway reads the real feed
        assert (await cluster.get("/api/v1/market/quote/RELIANCE")).json()["source"] == "upstox"
    async with _client(ports, GatewaySettings(source="sim")) as sim:
        assert (await sim.get("/api/v1/market/quote/RELIANCE")).json()["source"] == "sim"
        schema = (await sim.get("/openapi.json")).json()["components"]["schemas"]["QuoteOut"]
        assert schema["properties"]["source"]["enum"] == ["sim", "upstox"]
    with pytest.raises(ValueError, match="source"):
        GatewaySettings(source="kite")  # type: ignore[arg-type]


async def test_quote_by_instrument_key_and_stale_events_ignored(
    client: Client, state: LiveMarketState
) -> None:
    state.apply(_tick(REL.instrument_key, 250_125, ts=T0 + 5))
    state.apply(_tick(REL.instrument_key, 1, ts=T0))  # older: must not win
    body = (await client.get("/api/v1/market/quote/NSE_EQ|INE002A01018")).json()
    assert body["last_price"] == "2501.25"
    assert body["vwap"] == "2460.10"  # the feed's ATP until an enriched tick exists


async def test_unknown_is_404_with_message_and_malformed_is_422(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/market/quote/NOSUCH")
    assert r.status_code == 404
    assert "unknown symbol 'NOSUCH'" in r.json()["detail"]
    r = await client.get("/api/v1/market/quote/RELIANCE")  # known, but no tick yet
    assert r.status_code == 404
    assert "no market data yet" in r.json()["detail"]
    assert (await client.get("/api/v1/market/quote/%3Cscript%3E")).status_code == 422
    assert (await client.get("/api/v1/market/quote/" + "A" * 81)).status_code == 422
    # a "|" makes it an instrument_key, which must be SEGMENT|IDENTIFIER with a known segment
    for bad in ("NSE_EQ%7C", "FOO%7CBAR", "NSE_EQ%7CA%7CB"):
        reply = await client.get(f"/api/v1/market/quote/{bad}")
        assert reply.status_code == 422, bad
        assert "malformed instrument_key" in reply.json()["detail"]
    assert (await client.get("/api/v1/market/greeks/FOO%7CBAR")).status_code == 422


async def test_option_greeks_show_upstox_and_ours(client: Client, state: LiveMarketState) -> None:
    greeks = OptionGreeks(CE.instrument_key, T0, T0, 12_050, 0.142, 0.52, 4e-4, -9.1, 12.3, 1.0)
    state.apply(greeks)
    state.apply(_enriched(CE.instrument_key, iv=0.1415))
    body = (await client.get("/api/v1/market/greeks/NIFTY 25000 CE 26 NOV 26")).json()
    assert body["upstox"]["iv"] == pytest.approx(0.142)
    assert body["ours"]["iv"] == pytest.approx(0.1415)
    assert body["ours"]["gamma"] is None  # NaN renders as null
    assert body["strike"] == "25000.00"
    assert body["last_price"] == "120.50"


async def test_greeks_of_an_underlying_is_its_chain(client: Client, state: LiveMarketState) -> None:
    state.apply(_tick(NIFTY.instrument_key, 2_501_000))
    body = (await client.get("/api/v1/market/greeks/NIFTY 50")).json()
    assert body["spot"] == "25010.00"
    assert [o["instrument_key"] for o in body["options"]] == [CE.instrument_key]
    assert (await client.get("/api/v1/market/greeks/RELIANCE")).status_code == 404


async def test_search_health_ready_metrics(client: httpx.AsyncClient) -> None:
    hits = (await client.get("/api/v1/instruments/search", params={"query": "relian"})).json()
    assert hits[0]["instrument_key"] == REL.instrument_key
    assert hits[0]["tick_size"] == "0.10"
    assert (await client.get("/api/v1/instruments/search", params={"query": ""})).status_code == 422
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200


async def test_readyz_reports_reasons() -> None:
    class NotReady:
        def ready(self) -> tuple[bool, list[str]]:
            return False, ["no ticks yet"]

    ports = GatewayPorts(LiveMarketState(), InstrumentIndex.build([]), readiness=NotReady())
    async with _client(ports) as client:
        r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reasons"] == ["no ticks yet"]


async def test_control_characters_are_422_and_errors_do_not_echo_the_input(
    client: httpx.AsyncClient,
) -> None:
    for bad in ("REL\x00IANCE", "\x00", "tab\there", "bell\x07", "del\x7f"):
        r = await client.get("/api/v1/instruments/search", params={"query": bad})
        assert r.status_code == 422, repr(bad)
        assert r.json()["detail"][0]["loc"] == ["query", "query"]
    assert (await client.get("/api/v1/market/quote/REL%00IANCE")).status_code == 422
    secret = "S3CRET-" + "x" * 5000
    for url in (f"/api/v1/market/quote/{secret}", "/api/v1/instruments/search"):
        r = await client.get(url, params={"query": secret} if "search" in url else None)
        assert r.status_code == 422
        assert "S3CRET" not in r.text
        assert len(r.content) < 1000, len(r.content)


async def test_search_by_instrument_key_and_by_isin(client: httpx.AsyncClient) -> None:
    for query in ("NSE_EQ|INE002A01018", "INE002A01018", "ine002a01018"):
        hits = (await client.get("/api/v1/instruments/search", params={"query": query})).json()
        assert hits[0]["instrument_key"] == REL.instrument_key, query
