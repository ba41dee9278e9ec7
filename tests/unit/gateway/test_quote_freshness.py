"""A quote says how old its data is by exchange time, and whether that is stale."""

from __future__ import annotations

import httpx

from quant.core.clock import NS_PER_SECOND, FakeClock
from quant.core.events import FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings

S = NS_PER_SECOND
T0 = 1_795_000_000_000_000_000
REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip


def _tick(ts_event: int) -> Tick:
    # received 40 s after the exchange stamped it: age is by exchange time, not receive
    return Tick(REL.instrument_key, FeedMode.LTPC, ts_event, ts_event + 40 * S, 250_125)


async def test_quote_age_and_stale_flag_follow_the_exchange_time() -> None:
    state = LiveMarketState()
    clock = FakeClock(T0)
    settings = GatewaySettings(stale_after_s=3)
    ports = GatewayPorts(
        market=state,
        instruments=InstrumentIndex.build([REL]),
        clock=clock,
        stale_after_s=settings.stale_after_s,
    )
    transport = httpx.ASGITransport(app=create_app(settings, ports))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        state.apply(_tick(T0 - 1_500_000_000))
        body = (await client.get("/api/v1/market/quote/RELIANCE")).json()
        assert (body["age_s"], body["stale"]) == (1.5, False)
        clock.advance(2)
        body = (await client.get("/api/v1/market/quote/RELIANCE")).json()
        assert (body["age_s"], body["stale"]) == (3.5, True)
        state.apply(_tick(clock.now_ns()))
        body = (await client.get("/api/v1/market/quote/RELIANCE")).json()
        assert (body["age_s"], body["stale"]) == (0.0, False)
        schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
        assert {"age_s", "stale"} <= set(schema["QuoteOut"]["required"])


def test_the_read_model_says_when_data_is_stale_or_missing() -> None:
    state = LiveMarketState()
    key = REL.instrument_key
    assert state.age_s(key, T0) is None
    assert state.is_stale(key, T0)  # no data is never fresh
    state.apply(_tick(T0))
    assert state.age_s(key, T0 + 4 * S) == 4.0
    assert not state.is_stale(key, T0 + 5 * S)  # default 5 s
    assert state.is_stale(key, T0 + 5 * S + 1)
    assert state.is_stale(key, T0 + 2 * S, max_age_s=1.0)
