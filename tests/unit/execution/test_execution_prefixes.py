"""Two strategy names with the same client order id prefix: the second one is refused
(``STRATEGY_PREFIX_TAKEN``), from accepted intents and, after a restart, from the journal;
nothing of it is journaled or sent, and the first strategy's orders are untouched."""

from __future__ import annotations

import itertools

from engine_kit import intent, msg, quote, ready_rig

from quant.trading.client_ids import strategy_prefix
from quant.trading.risk_limits import RejectReason


def colliding_names() -> tuple[str, str]:
    """Two different long strategy names with the same prefix (found by brute force)."""
    seen: dict[str, str] = {}
    for n in itertools.count():
        name = f"strategy_{n}"
        other = seen.setdefault(strategy_prefix(name), name)
        if other != name:
            return other, name
    raise AssertionError("unreachable")


async def test_a_second_strategy_with_a_taken_prefix_is_refused() -> None:
    first, second = colliding_names()
    assert first != second and strategy_prefix(first) == strategy_prefix(second)
    rig = await ready_rig()
    a = await rig.engine.submit(msg(intent(strategy=first), sequence=1))
    assert a.rejected is None
    journaled, placed = len(rig.journal.events), len(rig.broker.placed)

    # same (prefix, day, sequence): without the check this was "the same intent again"
    b = await rig.engine.submit(msg(intent(strategy=second), sequence=1))
    assert b.rejected is not None
    assert b.rejected.reason is RejectReason.STRATEGY_PREFIX_TAKEN
    assert repr(first) in b.rejected.message and "rename" in b.rejected.message
    assert b.orders == () and b.client_order_id == ""
    c = await rig.engine.submit(msg(intent(strategy=second)))  # a fresh sequence: refused too
    assert c.rejected is not None and c.rejected.reason is RejectReason.STRATEGY_PREFIX_TAKEN
    assert (len(rig.journal.events), len(rig.broker.placed)) == (journaled, placed)
    assert [o.intent.strategy for o in rig.engine.orders()] == [first]

    again = await rig.engine.submit(msg(intent(strategy=first)))  # the owner goes on
    assert again.rejected is None


async def test_the_owner_of_a_prefix_is_known_again_after_a_restart() -> None:
    first, second = colliding_names()
    rig = await ready_rig()
    assert (await rig.engine.submit(msg(intent(strategy=first)))).rejected is None

    restarted = rig.restart()
    await restarted.engine.recover()
    quote(restarted)
    b = await restarted.engine.submit(msg(intent(strategy=second)))
    assert b.rejected is not None and b.rejected.reason is RejectReason.STRATEGY_PREFIX_TAKEN
    assert (await restarted.engine.submit(msg(intent(strategy=first)))).rejected is None


async def test_the_prefix_is_claimed_per_trading_day() -> None:
    first, second = colliding_names()
    rig = await ready_rig()
    assert (await rig.engine.submit(msg(intent(strategy=first)))).rejected is None
    rig.clock.advance(86_400)  # the next day: ids carry the day, no clash with first's
    quote(rig)
    b = await rig.engine.submit(msg(intent(strategy=second)))
    assert b.rejected is None, b.rejected
