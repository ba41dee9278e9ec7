"""The ingestor rebuilds its run-time subscriptions from ``control.commands`` (in-process bus).

The topic is compacted state keyed per instrument; a fresh consumer reads it from the
start, and the ingestor must end up with the latest request per instrument applied, no
stale ADD reaching the feed, and configured subscriptions not undoing a REMOVE.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from feed_fakes import FakeFeedSocket
from quant.bus import topics
from quant.bus.control import publish_control
from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock
from quant.core.control import KillSwitch, SubscriptionAction, SubscriptionRequest
from quant.core.events import FeedMode
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import Ingestor
from quant.upstox.subscriptions import SubscriptionBook

T0 = 1_795_000_000_000_000_000
X, Y, Z = "NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029", "NSE_EQ|INE040A01034"
ADD, REMOVE, MODE = (
    SubscriptionAction.ADD,
    SubscriptionAction.REMOVE,
    SubscriptionAction.CHANGE_MODE,
)


def req(
    action: SubscriptionAction, *keys: str, mode: FeedMode = FeedMode.FULL
) -> SubscriptionRequest:
    return SubscriptionRequest(action, keys, mode, "ops", T0)


def fresh_ingestor(bus: InProcessBus, group: str) -> tuple[Ingestor, FakeFeedSocket]:
    sock = FakeFeedSocket(reconnect_ok=False)
    ing = Ingestor(
        sockets=[sock],
        book=SubscriptionBook(connections=1),
        publisher=bus.publisher(),
        metrics=IngestorMetrics(CollectorRegistry()),
        clock=FakeClock(T0),
        control=bus.consumer(group, [topics.CONTROL.name]),
        suggestions=bus.consumer("ingestor-suggestions", [topics.SUGGESTIONS.name]),
    )
    return ing, sock


async def until(predicate: Callable[[], bool]) -> None:
    for _ in range(300):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached within 3 s")


async def run_until(ing: Ingestor, predicate: Callable[[], bool]) -> None:
    task = asyncio.create_task(ing.run())
    try:
        await until(predicate)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def subscribed(ing: Ingestor) -> dict[str, FeedMode | None]:
    return {k: ing.book.mode_of(k) for k in (X, Y, Z) if ing.book.mode_of(k) is not None}


async def test_a_fresh_consumer_rebuilds_the_latest_request_per_instrument() -> None:
    bus = InProcessBus()
    bus.ensure_topics(topics.ALL_TOPICS)
    pub = bus.publisher()
    for command in (req(ADD, X), req(ADD, Y), req(REMOVE, X)):
        publish_control(pub, command)
    publish_control(pub, KillSwitch(True, False, "r", "2026-12-07", T0))

    ing, sock = fresh_ingestor(bus, "run-1")
    await run_until(ing, lambda: len(ing.control_state.kill_switches()) == 1)
    assert subscribed(ing) == {Y: FeedMode.FULL}
    assert ing.control_state.subscriptions() == {Y: FeedMode.FULL}
    # the stale ADD of X never reached the feed (no sub then unsub churn)
    assert all(X not in keys for _, keys, _ in sock.sent)

    # later: X back in LTPC, Y removed; a restart (another fresh group) rebuilds that
    for command in (req(ADD, X, mode=FeedMode.LTPC), req(REMOVE, Y)):
        publish_control(pub, command)
    again, _ = fresh_ingestor(bus, "run-2")
    await run_until(again, lambda: again.control_state.removed() == {Y})
    assert subscribed(again) == {X: FeedMode.LTPC}


async def test_a_change_mode_whose_add_was_compacted_away_still_subscribes() -> None:
    bus = InProcessBus()
    bus.ensure_topics(topics.ALL_TOPICS)
    publish_control(bus.publisher(), req(MODE, Z, mode=FeedMode.LTPC))
    ing, _ = fresh_ingestor(bus, "run-1")
    await run_until(ing, lambda: bool(subscribed(ing)))
    assert subscribed(ing) == {Z: FeedMode.LTPC}


async def test_configured_subscriptions_do_not_undo_a_remove_from_the_control_topic() -> None:
    bus = InProcessBus()
    bus.ensure_topics(topics.ALL_TOPICS)
    publish_control(bus.publisher(), req(REMOVE, X))
    ing, _ = fresh_ingestor(bus, "run-1")
    await run_until(ing, lambda: ing.control_state.removed() == {X})
    await ing.subscribe([X, Y], FeedMode.FULL)  # the universe, subscribed at start
    assert subscribed(ing) == {Y: FeedMode.FULL}
