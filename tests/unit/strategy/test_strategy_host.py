"""StrategyHost: callback order, intent tagging, own orders and positions, failures, state."""

from __future__ import annotations

from typing import Any

import pytest
from strategy_kit import (
    DAY,
    KEY,
    KEY2,
    Recorder,
    candle,
    clock_at,
    enriched,
    ist,
    order_event,
    suggestion,
    tick,
)

from quant.core.clock import FakeClock
from quant.core.events import Candle, EnrichedTick, Tick
from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.client_ids import client_order_id, strategy_prefix
from quant.trading.errors import InvalidIntent
from quant.trading.intent import IntentMessage
from quant.trading.strategy import (
    CancelRequest,
    InvalidParams,
    MemoryStateStore,
    RunState,
    Strategy,
    StrategyContext,
    StrategyError,
    StrategyHost,
    StrategyParams,
    TimerEvent,
)

S = OrderStatus


def started(clock: FakeClock, *strategies: tuple[str, Strategy[Any]], **kw: Any) -> StrategyHost:
    host = StrategyHost(clock, **kw)
    for sid, strategy in strategies:
        host.add(strategy, strategy_id=sid, algo_name=f"algo-{sid}")
    host.start()
    return host


class SubscribedRecorder(Recorder):
    def on_start(self, ctx: StrategyContext) -> None:
        super().on_start(ctx)
        ctx.subscribe_bars(1)
        ctx.every("beat", 30)


def test_callbacks_run_in_event_order_with_start_first_and_stop_last() -> None:
    clock = clock_at(9, 20)
    rec = SubscribedRecorder()
    host = started(clock, ("rec", rec))
    host.on_tick(tick(clock.now_ns(), 100))
    host.on_enriched(enriched(clock.now_ns(), 101))
    host.on_candle(candle(9, 19, 100, 102, 99, 101))
    host.on_suggestion(suggestion(clock.now_ns(), rank=3))
    clock.advance(30)
    host.on_time()
    cid = host.context("rec").market(KEY, Side.BUY, 10)
    host.on_order_event(order_event(cid, S.OPEN, strategy="rec", ts=clock.now_ns()))
    host.on_order_event(
        order_event(cid, S.FILLED, strategy="rec", ts=clock.now_ns(), filled=10, value=1010)
    )
    host.stop()
    assert rec.calls == [
        ("on_start", None),
        ("on_tick", 100),
        ("on_enriched", 101),
        ("on_bar", (60, ist(9, 19))),
        ("on_suggestion", 3),
        ("on_timer", "beat"),
        ("on_order_update", (cid, S.OPEN)),
        ("on_order_update", (cid, S.FILLED)),
        ("on_fill", (cid, 10)),
        ("on_stop", None),
    ]
    assert [s.state for s in host.status()] == [RunState.STOPPED]
    assert host.status()[0].events == len(rec.calls)


class Buyer(Strategy):
    """Places one order of each kind on its first tick."""

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> None:
        if ctx.state.get("done"):
            return
        ctx.state["done"] = True
        ctx.market(tick.instrument_key, Side.BUY, 5, tag="entry")
        ctx.limit(tick.instrument_key, "sell", 5, 10_100)
        ctx.stop(tick.instrument_key, Side.SELL, 5, 9_900)
        ctx.stop(tick.instrument_key, Side.SELL, 5, 9_900, price=9_850)


def test_helpers_emit_intents_tagged_with_strategy_id_algo_name_and_day_sequence() -> None:
    clock = clock_at(9, 30)
    host = started(clock, ("momentum_breakout", Buyer()))
    host.on_tick(tick(clock.now_ns(), 10_000))
    out = host.drain()
    assert [e.strategy_id for e in out] == ["momentum_breakout"] * 4
    assert {e.algo_name for e in out} == {"algo-momentum_breakout"}
    msgs = [e.command for e in out]
    assert all(isinstance(m, IntentMessage) for m in msgs)
    assert [m.sequence for m in msgs] == [1, 2, 3, 4]  # type: ignore[union-attr]
    assert {m.ts_event for m in msgs} == {clock.now_ns()}
    intents = [m.intent for m in msgs]  # type: ignore[union-attr]
    assert {i.strategy for i in intents} == {"momentum_breakout"}
    assert [i.order_type for i in intents] == [
        OrderType.MARKET,
        OrderType.LIMIT,
        OrderType.SL_M,
        OrderType.SL,
    ]
    assert intents[0].tag == "entry" and intents[1].side is Side.SELL
    assert (intents[1].price, intents[2].trigger_price, intents[3].price) == (10_100, 9_900, 9_850)
    assert host.drain() == []
    # the ids the helpers returned are the execution service's ids: prefix-day-sequence
    opened = host.context("momentum_breakout").open_orders()
    expected = [client_order_id("momentum_breakout", DAY, n) for n in (1, 2, 3, 4)]
    assert [o.client_order_id for o in opened] == expected
    assert all(c.startswith(strategy_prefix("momentum_breakout") + "-261207-") for c in expected)
    assert {o.status for o in opened} == {S.PENDING_NEW}


def test_sequences_start_again_on_the_next_ist_day() -> None:
    clock = clock_at(15, 0)
    host = started(clock, ("orb", Strategy()))
    ctx = host.context("orb")
    assert ctx.market(KEY, Side.BUY, 1) == "orb-261207-1"
    clock.set_ns(ist(9, 15, day=DAY.replace(day=8)))
    assert ctx.market(KEY, Side.BUY, 1) == "orb-261208-1"
    assert [e.command.sequence for e in host.drain()] == [1, 1]  # type: ignore[union-attr]


def test_order_events_reach_only_the_strategy_that_placed_the_order() -> None:
    clock = clock_at(10, 0)
    a, b = Recorder(), Recorder()
    host = started(clock, ("a", a), ("b", b))
    cid = host.context("a").market(KEY, Side.BUY, 10)
    host.on_order_event(order_event(cid, S.OPEN, strategy="a", ts=clock.now_ns()))
    host.on_order_event(order_event("zz-261207-1", S.OPEN, strategy="other", ts=clock.now_ns()))
    assert a.names() == ["on_start", "on_order_update"]
    assert b.names() == ["on_start"]
    assert host.unrouted_order_events == 1


def test_fills_build_positions_and_pnl_and_redelivered_events_add_nothing() -> None:
    clock = clock_at(10, 0)
    rec = Recorder()
    host = started(clock, ("pos", rec))
    ctx = host.context("pos")
    cid = ctx.market(KEY, Side.BUY, 10)
    part = order_event(
        cid, S.PARTIALLY_FILLED, strategy="pos", ts=clock.now_ns(), filled=4, value=40_000
    )
    host.on_order_event(part)
    host.on_order_event(part)  # at-least-once delivery
    full = order_event(cid, S.FILLED, strategy="pos", ts=clock.now_ns(), filled=10, value=100_600)
    host.on_order_event(full)
    host.on_order_event(full)
    assert [d for n, d in rec.calls if n == "on_fill"] == [(cid, 4), (cid, 6)]
    p = ctx.position(KEY)
    assert (p.net_quantity, p.cost) == (10, 100_600)
    assert ctx.open_orders() == []
    host.on_tick(tick(clock.now_ns(), 10_100))
    assert ctx.pnl().unrealised == 10 * 10_100 - 100_600
    status = host.status()[0]
    assert (status.fills, status.open_positions, status.unrealised_pnl) == (2, 1, 400)
    # close_position sells what is held, once, even if asked twice before the fill
    close = ctx.close_position(KEY)
    assert ctx.close_position(KEY) is None
    host.on_order_event(
        order_event(close or "", S.FILLED, strategy="pos", ts=clock.now_ns(), side=Side.SELL,
                    filled=10, value=102_000)
    )  # fmt: skip
    assert ctx.position(KEY).is_flat and ctx.pnl().realised == 1_400
    assert ctx.close_position(KEY) is None


def test_cancel_emits_a_cancel_request_for_open_orders_only() -> None:
    clock = clock_at(10, 0)
    host = started(clock, ("cx", Strategy()))
    ctx = host.context("cx")
    cid = ctx.limit(KEY, Side.BUY, 10, 9_000)
    other = ctx.limit(KEY2, Side.BUY, 10, 9_000)
    host.on_order_event(order_event(other, S.REJECTED, strategy="cx", ts=clock.now_ns()))
    assert ctx.cancel(cid) is True
    assert ctx.cancel(other) is False  # final already
    assert ctx.cancel("nope-261207-1") is False
    assert ctx.cancel_all() == 1
    commands = [e.command for e in host.drain()]
    assert commands[2:] == [
        CancelRequest("cx", cid, clock.now_ns()),
        CancelRequest("cx", cid, clock.now_ns()),
    ]


def test_invalid_intent_from_a_helper_raises_with_the_reason() -> None:
    host = started(clock_at(10, 0), ("bad", Strategy()))
    with pytest.raises(InvalidIntent, match="quantity must be a positive whole number"):
        host.context("bad").market(KEY, Side.BUY, 0)
    with pytest.raises(InvalidIntent, match="side must be"):
        host.context("bad").market(KEY, "hold", 1)


class Boom(Strategy):
    """Places an order, then raises, on its second tick."""

    def __init__(self) -> None:
        self.stopped = 0
        self.ticks = 0

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> None:
        self.ticks += 1
        if self.ticks == 2:
            ctx.market(tick.instrument_key, Side.BUY, 1)
            raise ZeroDivisionError("division by zero in my signal")

    def on_stop(self, ctx: StrategyContext) -> None:
        self.stopped += 1
        ctx.close_position(KEY)


class Steady(Strategy):
    def __init__(self) -> None:
        self.ticks = 0

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> None:
        self.ticks += 1
        ctx.market(tick.instrument_key, Side.BUY, 1)


def test_a_raising_strategy_is_stopped_and_reported_while_the_other_keeps_running() -> None:
    clock = clock_at(10, 0)
    boom, steady = Boom(), Steady()
    store = MemoryStateStore()
    host = started(clock, ("boom", boom), ("steady", steady), state_store=store)
    host.context("boom").state["note"] = "kept"
    for n in range(4):
        clock.advance(1)
        host.on_tick(tick(clock.now_ns(), 100 + n))
    assert boom.ticks == 2 and boom.stopped == 1
    assert steady.ticks == 4
    (failure,) = host.failures
    assert failure.strategy_id == "boom"
    assert failure.callback == "on_tick"
    assert failure.error == "ZeroDivisionError: division by zero in my signal"
    assert failure.ts_ns == ist(10, 0, 2)
    emitted = host.drain()
    assert {e.strategy_id for e in emitted} == {"steady"}  # the failing callback's order dropped
    assert host.context("boom").open_orders() == []
    by_id = {s.strategy_id: s for s in host.status()}
    assert by_id["boom"].state is RunState.FAILED and by_id["boom"].errors == 1
    assert "ZeroDivisionError" in by_id["boom"].last_error
    assert by_id["steady"].state is RunState.RUNNING and by_id["steady"].intents == 4
    assert store.saved["boom"] == {"note": "kept"}
    host.stop()
    assert boom.stopped == 1  # not stopped twice


class Timed(Strategy):
    def __init__(self) -> None:
        self.fired: list[TimerEvent] = []

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.at("square_off", "15:10")

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        self.fired.append(timer)
        if len(self.fired) == 1:
            raise RuntimeError("timer bug")


def test_a_strategy_failing_in_a_timer_loses_its_timers() -> None:
    clock = clock_at(15, 0)
    t = Timed()
    host = started(clock, ("t", t))
    clock.set_ns(ist(15, 10))
    host.on_time()
    clock.set_ns(ist(15, 10, day=DAY.replace(day=8)))
    host.on_time()
    assert len(t.fired) == 1
    assert host.failures[0].callback == "on_timer"
    assert host.next_due_ns() is None


class SizedParams(StrategyParams):
    quantity: int
    fast: int = 5


class Sized(Strategy[SizedParams]):
    """Names its parameters by the generic argument."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.state["q"] = self.params.quantity  # typed as SizedParams


class Named(Strategy):
    """Names its parameters by the ``Params`` attribute."""

    class Params(StrategyParams):
        window: int = 20


def test_invalid_params_are_refused_with_the_pydantic_message() -> None:
    host = StrategyHost(clock_at(9, 0))
    with pytest.raises(InvalidParams) as err:
        host.add(Sized(), strategy_id="sz", params={"quantity": "ten", "slow": 3})
    text = str(err.value)
    assert "invalid parameters for strategy Sized (SizedParams)" in text
    assert "quantity" in text and "valid integer" in text
    assert "slow" in text and "Extra inputs are not permitted" in text
    ctx = host.add(Sized(), strategy_id="sz", params={"quantity": 10})
    assert ctx.params == SizedParams(quantity=10, fast=5)
    assert Sized.Params is SizedParams
    host.start()
    assert ctx.state == {"q": 10}
    named = host.add(Named(), strategy_id="nm", params=None)
    assert named.params == Named.Params(window=20)
    with pytest.raises(InvalidParams, match="must be a mapping"):
        host.add(Named(), strategy_id="nm2", params=[("window", 3)])  # type: ignore[arg-type]


def test_strategy_ids_are_checked() -> None:
    host = StrategyHost(clock_at(9, 0))
    host.add(Strategy(), strategy_id="momentum_breakout")
    with pytest.raises(StrategyError, match="already added"):
        host.add(Strategy(), strategy_id="momentum_breakout")
    with pytest.raises(StrategyError, match="must be 1-64 letters"):
        host.add(Strategy(), strategy_id="no spaces")
    with pytest.raises(StrategyError, match="is not a Strategy instance"):
        host.add(Recorder, strategy_id="cls")  # type: ignore[arg-type]


class Filtered(Recorder):
    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe(KEY2)
        ctx.subscribe_bars(1)


def test_subscribed_instruments_filter_ticks_and_bars_but_not_suggestions() -> None:
    clock = clock_at(10, 0)
    f, every = Filtered(), Recorder()
    host = started(clock, ("f", f), ("all", every))
    host.on_tick(tick(clock.now_ns(), 1, key=KEY))
    host.on_tick(tick(clock.now_ns(), 2, key=KEY2))
    host.on_enriched(enriched(clock.now_ns(), 3, key=KEY))
    host.on_candle(candle(9, 59, 1, 1, 1, 1, key=KEY))
    host.on_candle(candle(9, 59, 4, 4, 4, 4, key=KEY2))
    host.on_suggestion(suggestion(clock.now_ns(), key=KEY))
    assert f.calls == [("on_tick", 2), ("on_bar", (60, ist(9, 59))), ("on_suggestion", 1)]
    assert every.names() == ["on_start", "on_tick", "on_tick", "on_enriched", "on_suggestion"]


def test_market_state_is_shared_and_current() -> None:
    clock = clock_at(10, 0)
    host = started(clock, ("m", Strategy()))
    ctx = host.context("m")
    assert ctx.instrument(KEY) is None and ctx.last_price(KEY) == 0
    host.on_tick(tick(ist(10, 0), 25_000))
    host.on_enriched(enriched(ist(10, 0, 1), 25_010, vwap=24_990.5))
    state = ctx.instrument(KEY)
    assert state is not None
    assert state.tick is not None and state.tick.ltp == 25_000
    assert state.enriched is not None and state.enriched.session_vwap == 24_990.5
    assert ctx.last_price(KEY) == 25_010
    host.on_candle(candle(10, 0, 25_000, 25_020, 24_990, 25_005))
    assert state.bar(1) == candle(10, 0, 25_000, 25_020, 24_990, 25_005)
    assert ctx.last_price(KEY) == 25_005


def test_restore_rebuilds_positions_and_continues_the_days_sequence() -> None:
    clock = clock_at(11, 0)
    host = StrategyHost(clock)
    host.add(Strategy(), strategy_id="orb")
    host.restore(
        [
            order_event("orb-261207-1", S.OPEN, strategy="orb", ts=ist(9, 20)),
            order_event("orb-261207-1", S.FILLED, strategy="orb", ts=ist(9, 20), filled=10,
                        value=100_000),
            order_event("orb-261207-7", S.OPEN, strategy="orb", ts=ist(9, 30),
                        order_type=OrderType.LIMIT),
            order_event("xx-261207-9", S.OPEN, strategy="xx", ts=ist(9, 30)),
        ]
    )  # fmt: skip
    host.start()
    ctx = host.context("orb")
    assert ctx.position(KEY).net_quantity == 10
    assert [o.client_order_id for o in ctx.open_orders()] == ["orb-261207-7"]
    assert ctx.market(KEY, Side.SELL, 10) == "orb-261207-8"


class Stateful(Strategy):
    def on_start(self, ctx: StrategyContext) -> None:
        ctx.state["runs"] = int(ctx.state.get("runs", 0) or 0) + 1  # type: ignore[arg-type]


def test_state_is_loaded_before_start_and_saved_after_stop() -> None:
    store = MemoryStateStore()
    for _ in range(3):
        host = started(clock_at(9, 0), ("st", Stateful()), state_store=store)
        host.stop()
    assert store.saved["st"] == {"runs": 3}


class BadState(Strategy):
    def on_start(self, ctx: StrategyContext) -> None:
        ctx.state["levels"] = {"high": float("nan")}


def test_state_that_is_not_json_is_reported_not_saved() -> None:
    store = MemoryStateStore()
    host = started(clock_at(9, 0), ("bs", BadState()), state_store=store)
    host.stop()
    assert "bs" not in store.saved
    (failure,) = host.failures
    assert failure.callback == "save_state"
    assert "state['levels']['high'] is nan" in failure.error


def test_counters_and_callback_latency_use_the_injected_stopwatch() -> None:
    clock = clock_at(10, 0)
    ticks = iter(range(0, 10**9, 7_000))  # every reading 7 µs after the previous
    host = started(clock, ("c", Steady()), stopwatch=lambda: next(ticks))
    for _ in range(3):
        host.on_tick(tick(clock.now_ns(), 100))
    s = host.status()[0]
    assert (s.events, s.intents, s.errors) == (4, 3, 0)  # on_start + 3 ticks
    assert (s.latency_count, s.latency_sum_ns, s.latency_max_ns) == (4, 28_000, 7_000)
    assert s.latency_buckets[0] == 4 and sum(s.latency_buckets) == 4


def test_strategies_that_do_not_override_a_callback_are_not_called_for_it() -> None:
    clock = clock_at(10, 0)
    host = started(clock, ("n", Strategy()))
    for _ in range(5):
        host.on_tick(tick(clock.now_ns(), 100))
    assert host.status()[0].events == 1  # on_start only


def test_minute_bars_from_ticks_feed_n_minute_bars_and_refuse_candles() -> None:
    clock = clock_at(9, 15)

    class FiveMinutes(Recorder):
        def on_start(self, ctx: StrategyContext) -> None:
            ctx.subscribe_bars(5)

    rec = FiveMinutes()
    host = started(clock, ("five", rec), minute_bars_from_ticks=True)
    for minute in range(6):
        clock.set_ns(ist(9, 15 + minute, 10))
        host.on_tick(tick(clock.now_ns(), 100 + minute, volume=10 * minute))
    assert [c for c in rec.calls if c[0] == "on_bar"] == [("on_bar", (300, ist(9, 15)))]
    assert rec.calls[-2:] == [("on_bar", (300, ist(9, 15))), ("on_tick", 105)]  # bar first
    bar = host.context("five").instrument(KEY)
    assert bar is not None
    assert bar.bar(5) == Candle(KEY, 300, ist(9, 15), 100, 104, 100, 104, 40, 0, 4)
    with pytest.raises(ValueError, match="builds its 1-minute bars from ticks"):
        host.on_candle(candle(9, 30, 1, 1, 1, 1))


def test_quiet_instruments_bars_close_after_the_delay() -> None:
    clock = clock_at(9, 15)

    class Fifteen(Recorder):
        def on_start(self, ctx: StrategyContext) -> None:
            ctx.subscribe_bars(15)

    rec = Fifteen()
    host = started(clock, ("q", rec), bar_close_delay_s=2)
    clock.set_ns(ist(9, 16))
    host.on_candle(candle(9, 15, 100, 101, 99, 100))  # then no trade until 09:30
    assert host.next_due_ns() == ist(9, 30, 2)
    clock.set_ns(ist(9, 30, 1))
    host.on_time()
    assert rec.calls == []
    clock.set_ns(ist(9, 30, 2))
    host.on_time()
    assert rec.calls == [("on_bar", (900, ist(9, 15)))]
    assert host.next_due_ns() is None


def test_timer_set_inside_a_callback_fires_on_time() -> None:
    clock = clock_at(10, 0)

    class Later(Recorder):
        def on_tick(self, ctx: StrategyContext, tick: Tick) -> None:
            ctx.every("soon", 5)

    rec = Later()
    host = started(clock, ("l", rec))
    clock.advance(1)
    host.on_time()  # nothing due: the next check is cached
    host.on_tick(tick(clock.now_ns(), 1))
    clock.advance(5)
    host.on_time()
    assert rec.names() == ["on_start", "on_timer"]


class EnrichedBoom(Strategy):
    def __init__(self) -> None:
        self.seen = 0

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        self.seen += 1
        ctx.market(tick.instrument_key, Side.BUY, 1)
        if tick.ltp == 13:
            raise ValueError("unlucky")


@pytest.mark.parametrize("timed", [False, True])
def test_a_failure_in_on_enriched_stops_only_that_strategy(timed: bool) -> None:
    clock = clock_at(10, 0)
    readings = iter(range(10**6))
    a, b = EnrichedBoom(), EnrichedBoom()
    host = started(clock, ("a", a), ("b", b), stopwatch=(lambda: next(readings)) if timed else None)
    host.on_enriched(enriched(clock.now_ns(), 12))
    host.on_enriched(enriched(clock.now_ns(), 13, key=KEY2))
    host.on_enriched(enriched(clock.now_ns(), 14))
    assert (a.seen, b.seen) == (2, 2)  # both raised on 13; neither hears of 14
    assert [f.strategy_id for f in host.failures] == ["a", "b"]
    assert [e.strategy_id for e in host.drain()] == ["a", "b"]  # only the first tick's orders
    assert [s.latency_count for s in host.status()] == ([3, 3] if timed else [0, 0])


def test_flush_bars_closes_the_open_minute_and_n_minute_bars() -> None:
    clock = clock_at(15, 27)

    class Both(Recorder):
        def on_start(self, ctx: StrategyContext) -> None:
            ctx.subscribe_bars(1)
            ctx.subscribe_bars(15)

    rec = Both()
    host = started(clock, ("b", rec), minute_bars_from_ticks=True)
    host.on_tick(tick(ist(15, 27, 5), 100, volume=5))
    host.on_tick(tick(ist(15, 28, 5), 101, volume=9))
    assert [d for n, d in rec.calls if n == "on_bar"] == [(60, ist(15, 27))]
    host.flush_bars()
    assert [d for n, d in rec.calls if n == "on_bar"] == [
        (60, ist(15, 27)),
        (60, ist(15, 28)),
        (900, ist(15, 15)),
    ]
    state = host.context("b").instrument(KEY)
    assert state is not None and state.bar(15) == Candle(
        KEY, 900, ist(15, 15), 100, 101, 100, 101, 4, 0, 1
    )
