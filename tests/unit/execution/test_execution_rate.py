"""The order-rate limiter in the engine: queue mode spreads a burst over time (never more
than 10 in any 1 s window, each order sent once), reject mode refuses with RATE_LIMIT."""

from __future__ import annotations

from engine_kit import intent, msg, ready_rig

from quant.core.clock import NS_PER_SECOND
from quant.core.orders import OrderStatus
from quant.trading.ratelimit import RateMode
from quant.trading.risk_limits import RejectReason


async def test_a_burst_of_100_intents_in_queue_mode_never_puts_11_in_one_second() -> None:
    rig = await ready_rig()
    subs = [await rig.engine.submit(msg(intent(qty=1))) for _ in range(100)]
    assert all(s.rejected is None for s in subs)
    assert len(rig.broker.placed) == 10  # the rest wait for their slot
    assert rig.engine.queue_depth() == 90
    queued = [s for s in subs if s.orders[0].status is OrderStatus.PENDING_NEW]
    assert len(queued) == 90 and len(rig.journal.events) >= 100 + 10  # all journaled first
    for _ in range(200):  # 20 s of on_time every 100 ms
        rig.clock.advance(0.1)
        await rig.engine.on_time()
    times = sorted(rig.broker.send_times)
    assert len(times) == 100
    assert len({r.client_order_id for r in rig.broker.placed}) == 100  # each once
    for first, eleventh in zip(times, times[10:], strict=False):
        assert eleventh - first >= NS_PER_SECOND
    assert times[-1] - times[0] < 10 * NS_PER_SECOND  # and not slower than needed
    assert rig.engine.queue_depth() == 0


async def test_a_queued_order_cancelled_before_its_slot_is_never_sent() -> None:
    rig = await ready_rig()
    subs = [await rig.engine.submit(msg(intent(qty=1))) for _ in range(12)]
    last = subs[-1].client_order_id
    order = await rig.engine.cancel(last)
    assert order.status is OrderStatus.CANCELLED
    rig.clock.advance(2)
    await rig.engine.on_time()
    assert last not in {r.client_order_id for r in rig.broker.placed}
    assert len(rig.broker.placed) == 11


async def test_reject_mode_rejects_over_the_limit_with_rate_limit() -> None:
    rig = await ready_rig(rate_mode=RateMode.REJECT)
    subs = [await rig.engine.submit(msg(intent(qty=1))) for _ in range(12)]
    assert [s.rejected is None for s in subs] == [True] * 10 + [False] * 2
    assert subs[-1].rejected is not None
    assert subs[-1].rejected.reason is RejectReason.RATE_LIMIT
    assert rig.journal.of(subs[-1].client_order_id)[-1].reason == "RATE_LIMIT"
    assert len(rig.broker.placed) == 10
    rig.clock.advance(1)
    assert (await rig.engine.submit(msg(intent(qty=1)))).rejected is None
