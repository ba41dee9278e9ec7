"""Out-of-range feed values through the running ingestor: simulator -> decode -> bus.

The probe of issue #16: a last price of 1e17 rupees crashed the ingestor (the paise
value does not fit the bus's int64), and zero and negative prices were published to the
bus (and so reached the store and the quote API). Here the simulator's ``send_bad_prices``
fault sends such ticks, interleaved with its normal feed, to a real ingestor
(``run_ingestor``, the code ``quant ingestor`` and ``quant up`` run) publishing to the
in-process bus: the ingestor keeps running, keeps publishing good ticks, publishes none
of the bad ones, and counts them in ``quant_feed_rejected_ticks_total{reason}``. And
should a tick the bus cannot carry reach the publisher anyway (its last line of
defence), it is dropped and counted, not fatal.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta

from prometheus_client import CollectorRegistry

from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, SystemClock, ns_to_datetime
from quant.core.events import FeedMode, Tick
from quant.core.universe import Universe
from quant.ingestor.main import run_ingestor
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import FeedEvent, Ingestor, Reconnected
from quant.ingestor.settings import IngestorSettings
from quant.sim.config import SimConfig, default_start
from quant.sim.server import SimServer
from quant.upstox.settings import UpstoxSettings
from quant.upstox.subscriptions import SubscriptionBook

RELIANCE = "NSE_EQ|INE002A01018"
HDFCBANK = "NSE_EQ|INE040A01034"
BAD = [
    {RELIANCE: 1e17},  # the crash
    {HDFCBANK: 0.0},
    {RELIANCE: -5.0, HDFCBANK: math.nan},
    {RELIANCE: math.inf, "NSE_EQ|NOT-SUBSCRIBED": 100.0},
]


class OneBatchSocket:
    """A ``FeedSocket`` yielding one batch, then nothing."""

    decode_errors = 0

    def __init__(self, batch: list[FeedEvent]) -> None:
        self.batch = batch
        self.rejected: dict[str, int] = {}

    async def send(self, method: str, keys: Sequence[str], mode: FeedMode | None) -> None:
        del method, keys, mode

    async def batches(self) -> AsyncIterator[Sequence[FeedEvent] | Reconnected]:
        yield self.batch
        await asyncio.Event().wait()


async def test_a_tick_the_bus_cannot_carry_is_dropped_not_fatal() -> None:
    bus = InProcessBus()
    registry = CollectorRegistry()
    good = Tick("NSE_EQ|A", FeedMode.LTPC, 1, 2, 10_050)
    huge = good._replace(instrument_key="NSE_EQ|B", ltp=10**19)  # past int64
    ingestor = Ingestor(
        sockets=[OneBatchSocket([huge, good])],
        book=SubscriptionBook(),
        publisher=bus.publisher(),
        metrics=IngestorMetrics(registry),
        clock=SystemClock(),
    )
    reader = bus.consumer("check", [topics.TICKS.name])
    task = asyncio.create_task(ingestor.run())
    try:
        await until(lambda: ingestor.published == 1, "the batch was not published")
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    published = [codecs.decode_tick(m.value()) for m in reader.poll(10, 0.1)]  # type: ignore[arg-type]
    assert published == [good]
    unencodable = {"reason": "unencodable"}
    assert registry.get_sample_value("quant_feed_rejected_ticks_total", unencodable) == 1


async def until(predicate: Callable[[], bool], what: str, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.05)
    raise AssertionError(what)  # pragma: no cover - timeout raises first


async def test_bad_prices_are_dropped_counted_and_never_published() -> None:
    bus = InProcessBus()
    registry = CollectorRegistry()
    stop = asyncio.Event()
    started: list[Ingestor] = []
    ticks: list[Tick] = []
    # 09:20 IST today or on the next trading day: inside the session window of the
    # ingestor's wall clock (the simulator's day is the platform's trading day)
    today = ns_to_datetime(SystemClock().now_ns(), IST).date()
    start = default_start(today) + timedelta(minutes=6)
    async with SimServer(SimConfig(start=start, step_interval=0.1)) as sim:
        settings = IngestorSettings(
            upstox=UpstoxSettings(api_base=sim.base_url, assets_base=sim.base_url),
        )
        consumer = bus.consumer("test-reader", [topics.TICKS.name])

        def read() -> None:
            for msg in consumer.poll(1000, 0.0):
                value = msg.value()
                assert isinstance(value, bytes)
                ticks.append(codecs.decode_tick(value))

        def rejected(reason: str) -> float:
            value = registry.get_sample_value("quant_feed_rejected_ticks_total", {"reason": reason})
            return value or 0.0

        token = sim.mint_token()
        task = asyncio.create_task(
            run_ingestor(
                settings,
                bus=bus,
                token=lambda: token,
                universe=Universe(modes={RELIANCE: FeedMode.FULL, HDFCBANK: FeedMode.LTPC}),
                clock=SystemClock(),
                stop=stop,
                registry=registry,
                started=started.append,
            )
        )
        try:

            def both_seen() -> bool:
                read()
                return {t.instrument_key for t in ticks} == {RELIANCE, HDFCBANK}

            await until(both_seen, "no ticks of both instruments")
            for prices in BAD:
                assert sim.send_bad_prices(prices) == 1
                await asyncio.sleep(0.1)
            await until(
                lambda: (
                    (rejected("price"), rejected("price_band"), rejected("unknown_key"))
                    == (4.0, 1.0, 1.0)
                ),
                "the bad ticks were not all counted",
            )
            before = len(ticks)

            def more() -> bool:
                read()
                return len(ticks) > before + 2

            await until(more, "the ingestor stopped publishing after the bad ticks")
            assert not task.done()
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        read()
        consumer.close()
    assert ticks and all(0 < t.ltp <= 10_000_000 * 100 for t in ticks)
    assert "NSE_EQ|NOT-SUBSCRIBED" not in {t.instrument_key for t in ticks}
    assert started and started[0].published >= len(ticks)
