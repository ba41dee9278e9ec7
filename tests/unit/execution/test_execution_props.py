"""Property: over random intents, market moves and broker fills, nothing the risk check
refuses reaches the broker, every rejection is journaled with its reason code, and the
account's position never passes its quantity limit."""

from __future__ import annotations

import asyncio

from engine_kit import EQ_KEY, FO_KEY, Rig, intent, make_rig, msg, quote
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.intent import OrderIntent, Product
from quant.trading.risk_limits import RejectReason, RiskLimits

LIMITS = RiskLimits(
    max_order_value=5_000_000_00,
    max_position_quantity=600,
    max_open_orders=20,
)

intents = st.builds(
    lambda side, qty, kind, ticks, key, strategy, product: intent(
        side,
        qty * (75 if key == FO_KEY else 1),
        kind,
        (10_000 if key == FO_KEY else 250_000) + ticks * 5,
        key=key,
        strategy=strategy,
        product=product,
    ),
    st.sampled_from(Side),
    st.integers(1, 400),
    st.sampled_from([OrderType.LIMIT, OrderType.MARKET]),
    st.integers(-40, 40),  # some off the equity's 10-paise tick
    st.sampled_from([EQ_KEY, FO_KEY]),
    st.sampled_from(["orb", "mr"]),
    st.sampled_from(Product),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("intent"), intents),
        st.tuples(st.just("move"), st.integers(-2_000, 2_000)),
        st.tuples(st.just("fill"), st.integers(0, 30)),
        st.tuples(st.just("stale"), st.just(0)),
        st.tuples(st.just("halt"), st.booleans()),
    ),
    max_size=40,
)


async def _run(plan: list[tuple[str, object]]) -> tuple[Rig, list[tuple[OrderIntent, object]]]:
    rig = make_rig(limits=LIMITS)
    await rig.engine.recover()
    quote(rig)
    eq = 250_000
    results = []
    for kind, arg in plan:
        if kind == "intent":
            assert isinstance(arg, OrderIntent)
            results.append((arg, await rig.engine.submit(msg(arg))))
        elif kind == "move":
            assert isinstance(arg, int)
            eq = 250_000 + arg * 10
            rig.clock.advance(0.2)
            quote(rig, eq=eq)
        elif kind == "fill":
            rows = [r for r in rig.broker.book.values() if r.status is OrderStatus.OPEN]
            if rows:
                row = rows[int(arg) % len(rows)]  # type: ignore[call-overload]
                price = row.price or eq
                await rig.engine.on_broker_update(
                    rig.broker.fill(row.client_order_id, row.quantity, price)
                )
        elif kind == "stale":
            rig.clock.advance(10)  # quotes go stale
        else:
            await rig.engine.request_kill("halt" if arg else "resume")
        await rig.engine.on_time()
    return rig, results


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_nothing_refused_reaches_the_broker_and_every_rejection_is_journaled(
    plan: list[tuple[str, object]],
) -> None:
    rig, results = asyncio.run(_run(plan))
    placed = {r.client_order_id for r in rig.broker.placed}
    journal_reason = {e.client_order_id: e.reason for e in rig.journal.events}
    for _, sub in results:
        cids = {o.client_order_id for o in sub.orders}  # type: ignore[attr-defined]
        rejected = sub.rejected  # type: ignore[attr-defined]
        if rejected is not None:
            assert not cids & placed
            for cid in cids:
                assert journal_reason[cid] == rejected.reason.value
    for e in rig.journal.events:
        if e.status is OrderStatus.REJECTED:
            assert e.reason in RejectReason.__members__
            assert e.client_order_id not in placed or e.reason == "BROKER_REJECTED"
    for key in (EQ_KEY, FO_KEY):
        net = sum(p.net_quantity for p in rig.engine.positions() if p.key.instrument_key == key)
        assert abs(net) <= LIMITS.max_position_quantity
    working = [o for o in rig.engine.orders(10_000) if not o.is_terminal]
    assert len(working) <= LIMITS.max_open_orders
