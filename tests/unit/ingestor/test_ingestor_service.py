"""The ingestor loop on fake sockets and the in-process bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import pytest
from prometheus_client import CollectorRegistry

from feed_fakes import FakeFeedSocket
from quant.bus import codecs, topics
from quant.bus.control import publish_control
from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock
from quant.core.control import SubscriptionAction, SubscriptionRequest
from quant.core.events import FeedMode, OptionGreeks, ScannerSuggestion, Tick
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import RECONNECTED, Ingestor
from quant.upstox.errors import FeedSubscriptionLimitError
from quant.upstox.subscriptions import FeedLimits, SubscriptionBook

T0 = 1_795_000_000_000_000_000


class RefusingSocket(FakeFeedSocket):
    """Refuses ``sub``/``change_mode`` like the Upstox client over its limits (while set)."""

    refuse = True

    async def send(self, method: str, keys: Sequence[str], mode: FeedMode | None) -> None:
        if self.refuse and method != "unsub":
            raise FeedSubscriptionLimitError(f"subscription refused: {len(keys)} key(s)")
        await super().send(method, keys, mode)


def _ingestor(
    bus: InProcessBus,
    n: int = 2,
    limits: FeedLimits | None = None,
    queue: int = 8,
    socket: type[FakeFeedSocket] = FakeFeedSocket,
) -> tuple[Ingestor, list[FakeFeedSocket], CollectorRegistry]:
    sockets = [socket() for _ in range(n)]
    registry = CollectorRegistry()
    ing = Ingestor(
        sockets=sockets,
        book=SubscriptionBook(limits, connections=n),
        publisher=bus.publisher(),
        metrics=IngestorMetrics(registry),
        clock=FakeClock(T0 + 2_000_000),
        control=bus.consumer("ingestor-control", [topics.CONTROL.name, topics.SUGGESTIONS.name]),
        queue_size=queue,
    )
    return ing, sockets, registry


def _text(key: str | bytes | None) -> str | None:
    return key.decode() if isinstance(key, bytes) else key


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(300):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached within 3 s")


async def test_publishes_ticks_and_greeks_keyed_by_instrument() -> None:
    bus = InProcessBus()
    ing, sockets, registry = _ingestor(bus)
    tick = Tick("NSE_EQ|A", FeedMode.FULL, T0, T0 + 1_000_000, 10_050, ltq=3, volume=10)
    greeks = OptionGreeks("NSE_FO|1", T0, T0, 500, 0.2, 0.5, 0.01, -1.0, 2.0, 0.1)
    reader = bus.consumer("check", [topics.TICKS.name, topics.GREEKS.name])
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(ing.run())
        await sockets[1].inbox.put([tick, greeks])
        await sockets[0].inbox.put(RECONNECTED)
        sockets[0].decode_errors = 3
        await _until(lambda: ing.published == 2)
        await _until(lambda: registry.get_sample_value("ingestor_decode_errors_total") == 3)
        task.cancel()
    got = {m.topic(): (_text(m.key()), m.value()) for m in reader.poll(10, 0.1)}
    assert got[topics.TICKS.name] == ("NSE_EQ|A", codecs.encode_tick(tick))
    assert codecs.decode_greeks(got[topics.GREEKS.name][1]) == greeks
    assert registry.get_sample_value("ingestor_ticks_total", {"mode": "full"}) == 1
    assert registry.get_sample_value("ingestor_reconnects_total", {"socket": "0"}) == 1
    latency = registry.get_sample_value("ingestor_publish_latency_seconds_sum")
    assert latency is not None
    assert abs(latency - 0.002) < 1e-9  # clock 2 ms after ts_init of the last event


async def test_control_topic_and_suggestions_change_subscriptions_within_limits() -> None:
    bus = InProcessBus()
    limits = FeedLimits(
        connections=2,
        individual={FeedMode.FULL: 2, FeedMode.LTPC: 5},
        combined={FeedMode.FULL: 1, FeedMode.LTPC: 5},
    )
    ing, sockets, registry = _ingestor(bus, limits=limits)
    await ing.subscribe(["NSE_EQ|A"], FeedMode.FULL)
    assert sockets[0].sent == [("sub", ("NSE_EQ|A",), FeedMode.FULL)]
    pub = bus.publisher()
    add = SubscriptionRequest(
        SubscriptionAction.ADD, ("NSE_EQ|B", "NSE_EQ|C"), FeedMode.FULL, "ops", T0
    )
    publish_control(pub, add)
    pick = ScannerSuggestion("NSE_EQ|D", "D", T0, 1, 9.0, ("orb",), 100, FeedMode.LTPC)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(ing.run())
        await _until(lambda: len(ing.book) == 2)
        pub.publish(topics.SUGGESTIONS.name, "NSE_EQ|D", codecs.encode_suggestion(pick))
        await _until(lambda: len(ing.refusals) == 2)
        task.cancel()
    assert ing.book.mode_of("NSE_EQ|B") is FeedMode.FULL
    assert ing.book.mode_of("NSE_EQ|C") is None  # full individual limit (2) reached
    assert ing.book.mode_of("NSE_EQ|D") is None  # ltpc would make the combined full limit 1
    assert [r.instrument_key for r in ing.refusals] == ["NSE_EQ|C", "NSE_EQ|D"]
    assert (
        registry.get_sample_value(
            "ingestor_refused_subscriptions_total", {"mode": "full", "reason": "limit"}
        )
        == 1
    )
    remove = SubscriptionRequest(SubscriptionAction.REMOVE, ("NSE_EQ|A",), FeedMode.FULL, "ops", T0)
    await ing.apply(remove)
    assert ("unsub", ("NSE_EQ|A",), None) in sockets[0].sent


async def test_slow_publisher_backpressures_the_reader() -> None:
    bus = InProcessBus()
    ing, sockets, _ = _ingestor(bus, n=1, queue=2)
    tick = Tick("NSE_EQ|A", FeedMode.LTPC, T0, T0, 1)
    for _ in range(10):
        sockets[0].inbox.put_nowait([tick])
    # no publisher running: the reader can queue only 2 batches, then must wait
    reader = asyncio.create_task(ing._read(0, sockets[0]))
    await asyncio.sleep(0.05)
    assert ing._queue.qsize() == 2
    assert sockets[0].inbox.qsize() == 7  # one batch held by the blocked put
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


async def test_a_request_the_feed_refuses_is_refused_counted_and_the_ingestor_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = InProcessBus()
    ing, sockets, registry = _ingestor(bus, n=1, socket=RefusingSocket)
    sock = sockets[0]
    assert isinstance(sock, RefusingSocket)
    await ing.subscribe(["NSE_EQ|A"], FeedMode.LTPC)  # refused too: the book forgets it
    assert len(ing.book) == 0
    sock.refuse = False
    await ing.subscribe(["NSE_EQ|A"], FeedMode.LTPC)
    sock.refuse = True
    pub = bus.publisher()
    keys = ("NSE_EQ|B", "NSE_EQ|C", "NSE_EQ|D")
    add = SubscriptionRequest(SubscriptionAction.ADD, keys, FeedMode.FULL, "ops", T0)
    move = SubscriptionRequest(
        SubscriptionAction.CHANGE_MODE, ("NSE_EQ|A",), FeedMode.FULL, "ops", T0
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="quant.ingestor.service"):
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(ing.run())
            publish_control(pub, add)
            publish_control(pub, move)
            await _until(lambda: len(ing.refusals) == 5)
            sock.refuse = False  # still running: the next request goes through
            publish_control(pub, add)
            await _until(lambda: len(ing.book) == 4)
            await sock.inbox.put([Tick("NSE_EQ|B", FeedMode.FULL, T0, T0, 1)])
            await _until(lambda: ing.published == 1)
            task.cancel()
    assert [r.instrument_key for r in ing.refusals][1:] == [*keys, "NSE_EQ|A"]
    assert ing.book.mode_of("NSE_EQ|A") is FeedMode.LTPC  # the refused move is undone
    assert all(ing.book.mode_of(k) is FeedMode.FULL for k in keys)
    refused = {"mode": "full", "reason": "venue"}
    assert registry.get_sample_value("ingestor_refused_subscriptions_total", refused) == 4
    subscribed = {"mode": "full"}
    assert registry.get_sample_value("ingestor_subscribed_instruments", subscribed) == 3
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2  # once per refused message, not per key
    assert all("refused" in r.getMessage() for r in warnings)
