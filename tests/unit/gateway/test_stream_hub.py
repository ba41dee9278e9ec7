"""The stream API's fan-out without sockets: bus messages through the feeder reach the
subscribed outboxes only, quotes are conflated (newest wins), an ordered queue that
overflows drops its client (never silently), a stalled client never holds up the others,
limits hold, and order events carry their fills."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessMessage
from quant.core.clock import FakeClock
from quant.core.events import Candle, FeedMode, ScannerSuggestion, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.core.symbols import InstrumentIndex
from quant.gateway.feeder import apply_messages
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import StreamLimits
from quant.gateway.stream_hub import Outbox, StreamHub
from quant.gateway.stream_metrics import StreamMetrics

REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip
TCS = Instrument(
    "NSE_EQ|INE467B01029", "TCS", "TATA CONSULTANCY SERVICES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip
T0 = 1_795_000_000_000_000_000


def tick(inst: Instrument, ltp: int, ts: int = T0) -> Tick:
    return Tick(inst.instrument_key, FeedMode.LTPC, ts, ts + 1000, ltp, close_price=245_000)


def order(status: OrderStatus, filled: int = 0, value: int = 0, cid: str = "m-1") -> OrderEvent:
    return OrderEvent(
        cid, REL.instrument_key, Side.BUY, OrderType.LIMIT, 10, status, T0, T0,
        price=250_000, filled_quantity=filled, filled_value=value, strategy="manual",
    )  # fmt: skip


def msg(topic: str, value: bytes, offset: int = 0) -> InProcessMessage:
    return InProcessMessage(topic, 0, offset, b"k", value)


def hub_on(limits: StreamLimits | None = None) -> tuple[StreamHub, LiveMarketState]:
    state = LiveMarketState()
    hub = StreamHub(
        state, InstrumentIndex.build([REL, TCS]), FakeClock(T0), source="sim",
        stale_after_s=5.0, limits=limits,
    )  # fmt: skip
    return hub, state


def data(texts: list[str]) -> list[dict[str, Any]]:
    return [json.loads(t) for t in texts]


async def test_a_tick_through_the_feeder_reaches_only_its_subscribers_as_a_quote() -> None:
    hub, state = hub_on()
    rel, tcs = hub.connect(), hub.connect()
    assert rel is not None and tcs is not None
    hub.subscribe_symbols(rel, "quotes", [REL.instrument_key])
    hub.subscribe_symbols(tcs, "quotes", [TCS.instrument_key])
    apply_messages(state, [msg(topics.TICKS.name, codecs.encode_tick(tick(REL, 250_125)))], hub)
    [quote] = data(rel.outbox.take())
    assert quote["type"] == "data" and quote["channel"] == "quotes"
    assert quote["data"]["trading_symbol"] == "RELIANCE"
    assert quote["data"]["last_price"] == "2501.25"
    assert quote["data"]["change"] == "51.25" and quote["data"]["source"] == "sim"
    assert tcs.outbox.take() == []
    assert state.last_tick(REL.instrument_key) is not None  # the read model still fed


async def test_quotes_are_conflated_newest_wins_and_unsubscribe_stops_them() -> None:
    hub, state = hub_on()
    sub = hub.connect()
    assert sub is not None
    hub.subscribe_symbols(sub, "quotes", [REL.instrument_key])
    for i in range(50):
        state.apply(tick(REL, 250_000 + i, T0 + i))
        hub.publish(tick(REL, 250_000 + i, T0 + i))
    [quote] = data(sub.outbox.take())
    assert quote["data"]["last_price"] == "2500.49"
    assert sub.outbox.conflated == 49
    assert hub.unsubscribe_symbols(sub, "quotes", None) == [REL.instrument_key]
    hub.publish(tick(REL, 260_000, T0 + 99))
    assert sub.outbox.take() == []


async def test_an_overflowing_queue_drops_its_client_and_nothing_is_silently_lost() -> None:
    hub, _ = hub_on(StreamLimits(queue_size=3))
    slow, fast = hub.connect(), hub.connect()
    assert slow is not None and fast is not None
    for sub in (slow, fast):
        hub.subscribe_channel(sub, "orders")
    for i in range(3):
        hub.publish(order(OrderStatus.OPEN, cid=f"m-{i}"))
    assert len(fast.outbox.take()) == 3  # the fast client keeps up
    assert not slow.outbox.dropped.is_set()
    hub.publish(order(OrderStatus.OPEN, cid="m-3"))
    assert slow.outbox.dropped.is_set()
    assert "more than 3 messages" in slow.outbox.drop_reason
    assert not fast.outbox.dropped.is_set()
    assert [m["data"]["client_order_id"] for m in data(fast.outbox.take())] == ["m-3"]
    # what the dropped client had queued is still in order, none after the overflow
    assert len(slow.outbox.take()) == 3


async def test_a_stalled_writer_never_holds_up_publishing_or_the_other_clients() -> None:
    hub, state = hub_on()
    stalled, live = hub.connect(), hub.connect()
    assert stalled is not None and live is not None
    for sub in (stalled, live):
        hub.subscribe_symbols(sub, "quotes", [REL.instrument_key])
    received: list[str] = []
    never = asyncio.Event()

    async def writer(outbox: Outbox, send_blocks: bool) -> None:
        while True:
            for text in await outbox.next_batch():
                if send_blocks:
                    await never.wait()  # a client that stopped reading
                received.append(text)

    tasks = [
        asyncio.create_task(writer(stalled.outbox, True)),
        asyncio.create_task(writer(live.outbox, False)),
    ]
    for i in range(1000):
        event = tick(REL, 250_000 + i, T0 + i)
        state.apply(event)
        hub.publish(event)
        if i % 100 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert json.loads(received[-1])["data"]["last_price"] == "2509.99"
    assert stalled.outbox.pending() <= 1  # conflated: one quote waits, not a thousand
    for t in tasks:
        t.cancel()


async def test_limits_symbols_per_channel_and_connections() -> None:
    hub, _ = hub_on(StreamLimits(max_connections=2, max_symbols=1))
    a, b = hub.connect(), hub.connect()
    assert a is not None and b is not None
    assert hub.connect() is None
    hub.subscribe_symbols(a, "quotes", [REL.instrument_key])
    assert hub.subscribe_symbols(a, "quotes", [REL.instrument_key]) == []  # already there
    with pytest.raises(ValueError, match="at most 1 symbols per channel"):
        hub.subscribe_symbols(a, "quotes", [TCS.instrument_key])
    hub.disconnect(a)
    assert hub.connect() is not None


async def test_order_events_go_to_orders_and_their_fills_to_fills() -> None:
    hub, _ = hub_on()
    sub = hub.connect()
    assert sub is not None
    hub.subscribe_channel(sub, "orders")
    hub.subscribe_channel(sub, "fills")
    hub.subscribe_channel(sub, "positions")
    hub.publish(order(OrderStatus.OPEN))
    hub.publish(order(OrderStatus.PARTIALLY_FILLED, 4, 1_000_000))
    hub.publish(order(OrderStatus.FILLED, 10, 2_500_600))
    got = data(sub.outbox.take())
    assert [(m["channel"], m["data"]["status"]) for m in got] == [
        ("orders", "OPEN"),
        ("orders", "PARTIALLY_FILLED"),
        ("fills", "PARTIALLY_FILLED"),
        ("orders", "FILLED"),
        ("fills", "FILLED"),
    ]
    fills = [m["data"] for m in got if m["channel"] == "fills"]
    assert [(f["quantity"], f["price"], f["value"]) for f in fills] == [
        (4, "2500.00", "10000.00"),
        (6, "2501.00", "15006.00"),
    ]
    assert got[3]["data"]["average_price"] == "2500.60"
    assert sub.account_changed.is_set()  # positions asked for again


async def test_candles_and_scanner_cycles_reach_their_subscribers() -> None:
    hub, state = hub_on()
    sub = hub.connect()
    assert sub is not None
    hub.subscribe_symbols(sub, "candles", [REL.instrument_key])
    hub.subscribe_channel(sub, "scanner")
    candle = Candle(REL.instrument_key, 60, T0, 250_000, 251_000, 249_000, 250_500, 900)
    picks = [
        ScannerSuggestion(k.instrument_key, k.trading_symbol, T0, rank, 2.0 - rank,
                          ("near the 20-day high",), 250_000)
        for rank, k in ((2, TCS), (1, REL))
    ]  # fmt: skip
    messages = [msg(topics.CANDLES.name, codecs.encode_candle(candle))] + [
        msg(topics.SUGGESTIONS.name, codecs.encode_suggestion(p), i) for i, p in enumerate(picks)
    ]
    apply_messages(state, messages, hub)
    bar, cycle = data(sub.outbox.take())
    assert bar["channel"] == "candles" and bar["data"]["close"] == "2505.00"
    assert bar["data"]["trading_symbol"] == "RELIANCE" and bar["data"]["interval_seconds"] == 60
    assert cycle["channel"] == "scanner"
    assert [s["trading_symbol"] for s in cycle["data"]["suggestions"]] == ["RELIANCE", "TCS"]


async def test_metrics_read_the_current_hub_on_scrape() -> None:
    registry = CollectorRegistry()
    metrics = StreamMetrics(registry)
    assert registry.get_sample_value("gateway_stream_connections") == 0
    hub, state = hub_on(StreamLimits(max_connections=1))
    metrics.hub = hub
    sub = hub.connect()
    assert sub is not None and hub.connect() is None
    hub.subscribe_symbols(sub, "quotes", [REL.instrument_key])
    for i in range(3):
        state.apply(tick(REL, 250_000 + i, T0 + i))
        hub.publish(tick(REL, 250_000 + i, T0 + i))
    assert registry.get_sample_value("gateway_stream_connections") == 1
    assert registry.get_sample_value("gateway_stream_messages_total") == 3
    assert registry.get_sample_value("gateway_stream_conflated_total") == 2
    dropped = "gateway_stream_dropped_total"
    assert registry.get_sample_value(dropped, {"reason": "too_many_connections"}) == 1
    assert registry.get_sample_value(dropped, {"reason": "slow_consumer"}) == 0
