"""What keeps an order's way short without giving up durability (bench_intent_ack.py):
the children of one intent are journalled in one write; order events are sent under the
engine's lock and flushed outside it, with callers that wait together sharing one flush
that began after their events were sent (and each seeing its failure); the service
gives the paper broker every tick of a poll, in order, and closes its publisher even when
its start fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from engine_kit import EQ_KEY, EQUITY, FO_KEY, at, intent, msg, ready_rig, tick

from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus, InProcessPublisher
from quant.core.clock import FakeClock
from quant.core.events import Tick
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.execution.adapters import BusEventPublisher
from quant.execution.main import build
from quant.execution.metrics import ServiceMetrics
from quant.execution.service import consume_ticks
from quant.execution.settings import ExecutionSettings
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.store.sqlite_relational import SqliteRelationalStore


async def test_the_children_of_a_split_intent_are_journalled_in_one_write() -> None:
    rig = await ready_rig()
    sub = await rig.engine.submit(msg(intent(qty=3_600, key=FO_KEY, price=10_000)))
    assert sub.rejected is None and len(sub.orders) == 2  # freeze quantity 1,800
    assert rig.journal.writes == [2]
    pending = [e for e in rig.journal.events if e.status is OrderStatus.PENDING_NEW]
    assert [e.client_order_id for e in pending] == [o.client_order_id for o in sub.orders]
    assert len(rig.broker.placed) == 2


async def test_events_are_sent_in_journal_order_and_flushed_before_submit_returns() -> None:
    rig = await ready_rig()
    sub = await rig.engine.submit(msg(intent()))
    cid = sub.client_order_id
    assert [e.status for e in rig.publisher.events] == [
        OrderStatus.PENDING_NEW,
        OrderStatus.OPEN,
    ]
    assert rig.publisher.events == rig.journal.of(cid)
    assert rig.publisher.flushes >= 1


class SlowFlushPublisher:
    """A ``Publisher`` whose flush blocks until released; it counts what it was asked."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.flushed_upto: list[int] = []  # how many were published when each flush began
        self.release = threading.Event()
        self.started = threading.Event()
        self.fail = False

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.published.append(key)

    def flush(self, timeout: float = 30.0) -> None:
        self.flushed_upto.append(len(self.published))
        self.started.set()
        self.release.wait(5)
        if self.fail:
            raise ConnectionError("bus down")

    def close(self, timeout: float = 30.0) -> None:
        pass


def _event(n: int) -> OrderEvent:
    return OrderEvent(
        f"orb-261207-{n}", EQ_KEY, Side.BUY, OrderType.MARKET, 1, OrderStatus.PENDING_NEW,
        at(10, 0), at(10, 0), strategy="orb",
    )  # fmt: skip


async def test_waiters_share_the_next_flush_and_each_waits_for_one_after_its_send() -> None:
    raw = SlowFlushPublisher()
    events = BusEventPublisher(raw)  # type: ignore[arg-type]
    try:
        events.send(_event(1))
        first = asyncio.create_task(events.flush())
        await asyncio.to_thread(raw.started.wait, 5)
        # sent while the first flush runs: that flush may not cover it
        events.send(_event(2))
        events.send(_event(3))
        second = asyncio.create_task(events.flush())
        third = asyncio.create_task(events.flush())
        await asyncio.sleep(0.05)
        assert not second.done() and not third.done()
        raw.release.set()
        await asyncio.wait_for(asyncio.gather(first, second, third), 5)
        assert raw.flushed_upto == [1, 3]  # two flushes for three waiters
        await events.flush()  # nothing new was sent: no flush at all
        assert raw.flushed_upto == [1, 3]
    finally:
        raw.release.set()
        events.close()


async def test_a_failed_flush_is_raised_to_every_waiter() -> None:
    raw = SlowFlushPublisher()
    raw.fail = True
    events = BusEventPublisher(raw)  # type: ignore[arg-type]
    try:
        events.send(_event(1))
        waiters = [asyncio.create_task(events.flush()) for _ in range(2)]
        await asyncio.to_thread(raw.started.wait, 5)
        raw.release.set()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert [type(r) for r in results] == [ConnectionError, ConnectionError]
        raw.fail = False
        await events.flush()  # the next flush is tried again
        assert raw.flushed_upto == [1, 1]
    finally:
        events.close()


class RecordingMarket:
    def __init__(self) -> None:
        self.ticks: list[Tick] = []

    def on_tick(self, tick: Tick) -> None:
        self.ticks.append(tick)

    def on_time(self) -> None:
        pass


async def test_the_paper_broker_gets_every_tick_of_a_poll_and_the_engine_the_latest() -> None:
    rig = await ready_rig()
    bus = InProcessBus()
    consumer = bus.consumer("ticks", [topics.TICKS.name])
    publisher = bus.publisher()
    now = rig.clock.now_ns()
    prints = [tick(EQ_KEY, 250_000 + 10 * k, now + k) for k in range(3)]
    for t in prints:  # three trade prints of one instrument before the service polls
        publisher.publish(topics.TICKS.name, EQ_KEY, codecs.encode_tick(t))
    market = RecordingMarket()
    registry, _ = new_registry_and_board()
    loop = asyncio.create_task(
        consume_ticks(rig.engine, market, consumer, ServiceMetrics(registry))
    )
    try:
        for _ in range(200):
            if market.ticks:
                break
            await asyncio.sleep(0.01)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert [t.ltp for t in market.ticks] == [250_000, 250_010, 250_020]
    assert rig.engine.marks()[EQ_KEY] == 250_020


class FailingConsumerBus(InProcessBus):
    """An in-process bus whose consumers cannot be made; it keeps its publishers."""

    def __init__(self) -> None:
        super().__init__()
        self.publishers: list[InProcessPublisher] = []

    def publisher(self) -> InProcessPublisher:
        p = super().publisher()
        self.publishers.append(p)
        return p

    def consumer(self, group_id: str, topics: Sequence[str], *, from_end: bool = False):  # type: ignore[no-untyped-def]
        raise ConnectionError("no broker")


class RecordingBus(FailingConsumerBus):
    def consumer(self, group_id: str, topics: Sequence[str], *, from_end: bool = False):  # type: ignore[no-untyped-def]
        return InProcessBus.consumer(self, group_id, topics, from_end=from_end)


def _deps(bus: InProcessBus, store: SqliteRelationalStore) -> Deps:
    registry, board = new_registry_and_board()
    return Deps(
        clock=FakeClock(at(10, 0)),
        registry=registry,
        board=board,
        bus=bus,
        instruments=FixedCatalog([EQUITY], "the test"),
        relational=store,
    )


SETTINGS = ExecutionSettings(api_host="127.0.0.1", api_port=0, control_catchup_s=0.1)


async def test_the_publisher_is_closed_when_the_start_fails_and_after_a_run() -> None:
    store = SqliteRelationalStore().open()
    try:
        bus = FailingConsumerBus()
        with pytest.raises(ConnectionError):
            await build(SETTINGS, _deps(bus, store)).run(asyncio.Event())
        assert bus.publishers and all(p._closed for p in bus.publishers)

        ok = RecordingBus()
        service = build(SETTINGS, _deps(ok, store))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        for _ in range(500):
            if service.ready()[0] or task.done():
                break
            await asyncio.sleep(0.02)
        assert service.ready()[0]
        stop.set()
        await asyncio.wait_for(task, 10)
        assert ok.publishers and all(p._closed for p in ok.publishers)
    finally:
        store.close()
