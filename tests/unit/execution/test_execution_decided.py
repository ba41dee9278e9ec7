"""The engine hands the broker when the strategy decided (``PlaceRequest.ts_decided``): the
intent's ``ts_event`` when it is sent at once, later by its wait when the rate limiter
queued it; 0 for an intent that does not say."""

from __future__ import annotations

from engine_kit import intent, ready_rig

from quant.core.clock import NS_PER_SECOND
from quant.trading.intent import IntentMessage


async def test_an_intent_sent_at_once_carries_its_decision_time_to_the_broker() -> None:
    rig = await ready_rig()
    decided = rig.clock.now_ns() - 3 * NS_PER_SECOND  # the strategy decided 3 s earlier
    await rig.engine.submit(IntentMessage(intent(qty=1), 0, decided))
    await rig.engine.submit(IntentMessage(intent(qty=1), 0, 0))
    assert [r.ts_decided for r in rig.broker.placed] == [decided, 0]


async def test_a_queued_intent_s_decision_time_moves_by_its_wait_for_the_slot() -> None:
    rig = await ready_rig()
    now = rig.clock.now_ns()
    for _ in range(11):  # the 11th waits for its slot (10 a second)
        await rig.engine.submit(IntentMessage(intent(qty=1), 0, now - NS_PER_SECOND))
    assert len(rig.broker.placed) == 10
    for _ in range(20):
        rig.clock.advance(0.1)
        await rig.engine.on_time()
    (last,) = rig.broker.placed[10:]
    waited = rig.broker.send_times[-1] - now
    assert waited > 0
    # decided 1 s before arrival; its slot came `waited` later (the rate limiter's slot time)
    assert now - NS_PER_SECOND < last.ts_decided <= now - NS_PER_SECOND + waited
