"""Benchmark: pre-trade risk check + OMS per intent, in microseconds.

What one intent costs the execution service's pure path, on one core: the risk check
(``quant.trading.risk.check`` against a ``RiskSnapshot`` with every limit switched on, a
few positions and working orders, the NSE calendar), then for each child order the OMS
steps of the order state machine: ``Order.new`` (PENDING_NEW) with its deterministic client
order id, ``accepted`` (OPEN), ``fill`` (FILLED) and the fill booked into a
``PositionBook``. The intents mix LIMIT and MARKET (protection limit), BUY and SELL,
equity and index options, with about one in eight above the freeze quantity (split into
child orders) and about one in ten refused by a rule (a refusal stops after the check).

Reference, same run: the check alone, and an empty loop over the same intents, so the
ratio check/total shows what the risk rules cost against the state machine.
Target (issue #17): risk + OMS <= 20 µs per intent.

The same intents also go through the execution service's real order path,
``quant.execution.engine.ExecutionEngine.submit`` (snapshot built from the engine's own
state, client order id, risk check, rate limiter, PENDING_NEW journaled and published,
``broker.place``, OPEN journaled and published), then one cumulative broker update per
child order that fills it (FILLED journaled and published, position, charges, trade
record), with a broker, journal and publishers that do nothing, on one asyncio loop.
Run: ``python bench/bench_risk_oms.py [--intents 20000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from datetime import time as clock_time

from quant.core.clock import IST, NS_PER_SECOND, FakeClock, datetime_to_ns
from quant.core.control import KillSwitch
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.execution.engine import ExecutionEngine
from quant.trading import Order, OrderIntent, PositionBook, Product, client_order_id
from quant.trading.broker import BrokerOrder, BrokerPosition, BrokerTrade, PlaceRequest
from quant.trading.intent import IntentMessage
from quant.trading.ratelimit import OrderRateLimiter, RateWindow
from quant.trading.risk import Accepted, check
from quant.trading.risk_limits import RiskLimits, StrategyLimits
from quant.trading.snapshot import DayPnl, PositionView, Quote, RiskSnapshot, WorkingOrder

DAY = date(2026, 12, 7)
NOW = datetime_to_ns(datetime.combine(DAY, clock_time(11, 0), tzinfo=IST))
EQ = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE", "NSE", "NSE_EQ", InstrumentType.EQUITY,
    lot_size=1, tick_size_paise=10, freeze_quantity=100_000,
)  # fmt: skip
OPT = Instrument(
    "NSE_FO|52618", "NIFTY 26000 CE", "NIFTY", "NSE", "NSE_FO", InstrumentType.CALL,
    lot_size=75, tick_size_paise=5, freeze_quantity=1_800, expiry=date(2026, 12, 29),
)  # fmt: skip
QUOTES = {
    EQ.instrument_key: Quote(250_000, 249_990, 250_010, 275_000, 225_000, NOW),
    OPT.instrument_key: Quote(10_000, 9_995, 10_005, 20_000, 5, NOW),
}
LIMITS = RiskLimits(
    max_order_value=50_000_000_00,
    max_position_quantity=200_000,
    max_position_value=100_000_000_00,
    max_open_orders=200,
    max_daily_loss=5_000_000,
    strategies={"orb": StrategyLimits(100_000, 200_000_000_00, 2_000_000)},
)


# the engine books every fill with its charges: over thousands of round trips the charges
# alone pass a daily-loss limit and the engine turns REDUCING, so it runs without one
ENGINE_LIMITS = dataclasses.replace(
    LIMITS, max_daily_loss=0, strategies={"orb": StrategyLimits(100_000, 200_000_000_00)}
)


def make_intents(n: int, seed: int = 7) -> list[tuple[OrderIntent, RiskSnapshot]]:
    rnd = random.Random(seed)
    positions = (
        PositionView("orb", Product.INTRADAY, 150),
        PositionView("mr", Product.DELIVERY, -75),
    )
    working = tuple(
        WorkingOrder("orb", key, Product.INTRADAY, Side.BUY, 75)
        for key in (EQ.instrument_key, OPT.instrument_key, "NSE_EQ|OTHER")
    )
    out = []
    for _ in range(n):
        inst = EQ if rnd.random() < 0.5 else OPT
        q = QUOTES[inst.instrument_key]
        side = Side.BUY if rnd.random() < 0.5 else Side.SELL
        lots = rnd.choice([1, 2, 5, 10, 40]) if inst is OPT else rnd.randint(1, 200)
        qty = lots * inst.lot_size
        if rnd.random() < 0.1:
            qty += 1 if inst is OPT else 0  # refused: not whole lots (equity: a 2nd LIMIT)
        if rnd.random() < 0.5:
            otype, price = OrderType.MARKET, 0
        else:
            otype = OrderType.LIMIT
            price = q.ltp + rnd.randint(-20, 20) * inst.tick_size_paise
        intent = OrderIntent(
            "orb", inst.instrument_key, side, qty, otype, Product.INTRADAY, price=price
        )
        snap = RiskSnapshot(
            now_ns=NOW, instrument=inst, quote=q, positions=positions, working_orders=working,
            account_pnl=DayPnl(10_000, -5_000, 2_000), strategy_pnl=DayPnl(5_000, -1_000, 800),
            strategy_other_exposure=10_000_000,
        )  # fmt: skip
        out.append((intent, snap))
    return out


def run_full(cases: list[tuple[OrderIntent, RiskSnapshot]]) -> tuple[float, int, int]:
    """Seconds for risk + OMS over ``cases``; (seconds, accepted intents, child orders)."""
    book = PositionBook()
    seq = accepted = children = 0
    started = time.perf_counter()
    for intent, snap in cases:
        result = check(intent, snap, LIMITS)
        if not isinstance(result, Accepted):
            continue
        accepted += 1
        fill_price = result.reference_price
        for child in result.children:
            seq += 1
            ts = snap.now_ns + seq
            order = Order.new(child.intent, client_order_id(intent.strategy, DAY, seq), ts)
            order = order.accepted(f"B{seq}", ts + 1)
            order, fill = order.fill(child.intent.quantity, fill_price, ts + 2)
            book.apply(fill)
            children += 1
    return time.perf_counter() - started, accepted, children


class _NoOp:
    """Journal, publishers and broker that do nothing (the engine's own cost only)."""

    def __init__(self) -> None:
        self.n = 0

    async def append(self, event: OrderEvent) -> None:
        pass

    async def since(self, ts_init: int) -> list[OrderEvent]:
        return []

    async def publish(self, event: OrderEvent | KillSwitch) -> None:
        pass

    async def place(self, request: PlaceRequest) -> tuple[str, ...]:
        self.n += 1
        return (f"B{self.n}",)

    async def modify(self, broker_order_id: str, amended: OrderIntent) -> None:
        pass

    async def cancel(self, broker_order_id: str) -> None:
        pass

    async def order_book(self) -> list[BrokerOrder]:
        return []

    async def trades(self) -> list[BrokerTrade]:
        return []

    async def positions(self) -> list[BrokerPosition]:
        return []

    async def find_by_tag(self, client_order_id: str) -> list[BrokerOrder]:
        return []

    async def updates(self) -> AsyncIterator[BrokerOrder]:
        return
        yield


def _tick(inst: Instrument) -> Tick:
    q = QUOTES[inst.instrument_key]
    depth = (DepthLevel(q.best_bid, 1_000, q.best_ask, 1_000),)
    return Tick(inst.instrument_key, FeedMode.FULL, NOW, NOW, q.ltp, depth=depth)


async def _run_engine(cases: list[tuple[OrderIntent, RiskSnapshot]]) -> tuple[float, int, int]:
    noop = _NoOp()
    engine = ExecutionEngine(
        clock=FakeClock(NOW),
        broker=noop,
        journal=noop,
        publisher=noop,
        control=noop,
        instruments={i.instrument_key: i for i in (EQ, OPT)}.get,
        limits=ENGINE_LIMITS,
        limiter=OrderRateLimiter((RateWindow(10**9, NS_PER_SECOND),)),
        mode="paper",
    )
    await engine.recover()
    for inst in (EQ, OPT):
        engine.set_circuit_limits(inst.instrument_key, *_band(inst))
        engine.on_tick(_tick(inst))
    accepted = children = 0
    started = time.perf_counter()
    for intent, _ in cases:
        sub = await engine.submit(IntentMessage(intent))
        if sub.rejected is not None:
            continue
        accepted += 1
        for o in sub.orders:
            i = o.intent
            price = i.price or QUOTES[i.instrument_key].ltp
            await engine.on_broker_update(
                BrokerOrder(
                    o.broker_order_id,
                    o.client_order_id,
                    i.instrument_key,
                    i.side,
                    i.order_type,
                    i.product.value,
                    i.quantity,
                    i.quantity,
                    i.price,
                    i.trigger_price,
                    price,
                    OrderStatus.FILLED,
                    "complete",
                )
            )
            children += 1
    return time.perf_counter() - started, accepted, children


def _band(inst: Instrument) -> tuple[int, int]:
    q = QUOTES[inst.instrument_key]
    return q.lower_circuit, q.upper_circuit


def run_engine(cases: list[tuple[OrderIntent, RiskSnapshot]]) -> tuple[float, int, int]:
    """Seconds for ``ExecutionEngine.submit`` + the filling update over ``cases``."""
    return asyncio.run(_run_engine(cases))


def run_check(cases: list[tuple[OrderIntent, RiskSnapshot]]) -> float:
    started = time.perf_counter()
    for intent, snap in cases:
        check(intent, snap, LIMITS)
    return time.perf_counter() - started


def run_empty(cases: list[tuple[OrderIntent, RiskSnapshot]]) -> float:
    started = time.perf_counter()
    for intent, snap in cases:
        (intent, snap)  # noqa: B018  # the loop's own cost
    return time.perf_counter() - started


def main(n: int, repeat: int) -> None:
    cases = make_intents(n)
    run_full(cases[:500])  # warm the calendar cache and the code paths
    full = min(run_full(cases)[0] for _ in range(repeat))
    _, accepted, children = run_full(cases)
    alone = min(run_check(cases) for _ in range(repeat))
    run_engine(cases[:500])
    engine = min(run_engine(cases)[0] for _ in range(repeat))
    _, e_accepted, e_children = run_engine(cases)
    empty = min(run_empty(cases) for _ in range(repeat))
    us = 1e6 / n
    print(f"intents: {n} ({accepted} accepted -> {children} child orders), best of {repeat}")
    print(f"risk check + OMS : {full * us:6.2f} µs per intent (target <= 20 µs)")
    print(f"risk check alone : {alone * us:6.2f} µs per intent ({alone / full:.0%} of the total)")
    print(f"empty loop       : {empty * us:6.2f} µs per intent")
    print(
        f"ExecutionEngine  : {engine * us:6.2f} µs per intent (submit + filling update; "
        f"{e_accepted} accepted -> {e_children} child orders; {engine / full:.1f}x risk + OMS)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    main(args.intents, args.repeat)
