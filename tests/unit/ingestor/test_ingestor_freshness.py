"""The ingestor judges each connection's freshness by exchange time (fake sockets and clock):
metrics, the ``/readyz`` reason, and a reconnect of the stale socket only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest
from prometheus_client import CollectorRegistry

from feed_fakes import FakeFeedSocket
from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, NS_PER_SECOND, FakeClock, datetime_to_ns
from quant.core.events import FeedMode, Tick
from quant.ingestor.freshness import FreshnessSettings
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import FeedEvent, Ingestor
from quant.upstox.subscriptions import SubscriptionBook

S = NS_PER_SECOND
NOON = datetime_to_ns(datetime(2026, 11, 25, 12, 0, tzinfo=IST))  # a Wednesday, trading
EVENING = datetime_to_ns(datetime(2026, 11, 25, 18, 0, tzinfo=IST))


def _ingestor(
    clock: FakeClock, check: str = "market_hours"
) -> tuple[Ingestor, list[FakeFeedSocket], CollectorRegistry]:
    sockets = [FakeFeedSocket(), FakeFeedSocket()]
    registry = CollectorRegistry()
    ing = Ingestor(
        sockets=sockets,
        book=SubscriptionBook(connections=2),
        publisher=InProcessBus().publisher(),
        metrics=IngestorMetrics(registry),
        clock=clock,
        freshness=FreshnessSettings.model_validate(
            {"stale_after_s": 5, "reconnect_after_s": 15, "check": check}
        ),
    )
    return ing, sockets, registry


async def _until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


def _tick(key: str, ts_event: int, ts_init: int) -> list[FeedEvent]:
    return [Tick(key, FeedMode.LTPC, ts_event, ts_init, 100)]


async def test_a_lagging_connection_is_stale_then_reconnected_and_fresh_again() -> None:
    clock = FakeClock(NOON)
    ing, sockets, registry = _ingestor(clock)
    await ing.subscribe(["NSE_EQ|A"], FeedMode.LTPC)  # socket 0 only: socket 1 is idle

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(ing.run())
        # a frame stamped 2 s ago by the exchange, received now
        await sockets[0].inbox.put(_tick("NSE_EQ|A", NOON - 2 * S, NOON))
        await _until(lambda: ing.published == 1)
        assert ing.stale_connections() == []
        await _until(lambda: sample("ingestor_feed_lag_seconds", socket="0") == 2.0)
        assert sample("ingestor_feed_frame_lag_seconds_count", socket="0") == 1
        assert sample("ingestor_instrument_lag_seconds", instrument_key="NSE_EQ|A") == 2.0
        assert sample("ingestor_market_open") == 1

        clock.advance(4)  # newest data 6 s old by exchange time
        (reason,) = ing.stale_connections()
        assert reason.startswith("feed connection 0: newest data 6.0 s old by exchange time")
        await _until(lambda: sample("ingestor_stale_instruments") == 1)
        assert sample("ingestor_feed_data_age_seconds", socket="0") == 6.0
        assert sockets[0].reconnects == []  # not yet past the second threshold

        clock.advance(10)  # 16 s old: reconnected, once
        await _until(lambda: len(sockets[0].reconnects) == 1)
        assert sample("ingestor_stale_reconnects_total", socket="0") == 1
        assert "16.0 s old" in sockets[0].reconnects[0]

        # fresh data on the new connection: ready again
        await sockets[0].inbox.put(_tick("NSE_EQ|A", clock.now_ns() - S // 10, clock.now_ns()))
        await _until(lambda: ing.published == 2)
        assert ing.stale_connections() == []
        await _until(lambda: sample("ingestor_stale_instruments") == 0)
        task.cancel()
    assert sockets[1].reconnects == []  # idle: never judged
    assert sample("ingestor_stale_reconnects_total", socket="0") == 1


async def test_outside_market_hours_old_data_is_reported_but_not_acted_on() -> None:
    clock = FakeClock(EVENING)
    ing, sockets, registry = _ingestor(clock)
    await ing.subscribe(["NSE_EQ|A"], FeedMode.LTPC)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(ing.run())
        await sockets[0].inbox.put(_tick("NSE_EQ|A", EVENING - 60 * S, EVENING))
        await _until(lambda: ing.published == 1)
        clock.advance(120)
        await _until(lambda: registry.get_sample_value("ingestor_stale_instruments") == 1)
        assert registry.get_sample_value("ingestor_market_open") == 0
        assert ing.stale_connections() == []
        task.cancel()
    assert sockets[0].reconnects == []


@pytest.mark.parametrize(
    ("check", "now", "judged"), [("always", EVENING, True), ("off", NOON, False)]
)
def test_the_check_setting_says_when_freshness_is_judged(
    check: str, now: int, judged: bool
) -> None:
    clock = FakeClock(now)
    ing, _, _ = _ingestor(clock, check)
    ing._in_use = [True, False]  # as if subscribed on socket 0
    clock.advance(6)  # nothing received for 6 s
    assert len(ing.stale_connections()) == (1 if judged else 0)
