"""Test kit of the execution engine: a scripted fake broker, an in-memory journal, event and
control publishers sharing one call log, the fake clock, and a builder for the engine."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.control import KillSwitch
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.execution.engine import ExecutionEngine
from quant.execution.ports import EngineMetrics
from quant.trading.broker import (
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerTrade,
    OrderStateUnknown,
    PlaceRequest,
)
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.ratelimit import OrderRateLimiter, RateMode
from quant.trading.risk_limits import RiskLimits
from quant.trading.squareoff import MisSquareOff

EQ_KEY = "NSE_EQ|INE002A01018"
FO_KEY = "NSE_FO|52618"
DAY = date(2026, 12, 7)  # a Monday, a normal NSE session
EQUITY = Instrument(
    EQ_KEY, "RELIANCE", "RELIANCE INDUSTRIES", "NSE", "NSE_EQ", InstrumentType.EQUITY,
    lot_size=1, tick_size_paise=10, freeze_quantity=100_000,
)  # fmt: skip
OPTION = Instrument(
    FO_KEY, "NIFTY 26000 CE", "NIFTY", "NSE", "NSE_FO", InstrumentType.CALL,
    lot_size=75, tick_size_paise=5, freeze_quantity=1_800, expiry=date(2026, 12, 29),
)  # fmt: skip
INSTRUMENTS = {i.instrument_key: i for i in (EQUITY, OPTION)}


def at(hh: int, mm: int, ss: int = 0, day: date = DAY) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm, ss), tzinfo=IST))


def intent(
    side: Side = Side.BUY,
    qty: int = 10,
    order_type: OrderType = OrderType.LIMIT,
    price: int = 250_000,
    *,
    key: str = EQ_KEY,
    strategy: str = "orb",
    product: Product = Product.INTRADAY,
    **kw: Any,
) -> OrderIntent:
    if order_type in (OrderType.MARKET, OrderType.SL_M):
        price = 0
    return OrderIntent(strategy, key, side, qty, order_type, product, price=price, **kw)


def msg(i: OrderIntent, sequence: int = 0) -> IntentMessage:
    return IntentMessage(i, sequence, 0)


def tick(key: str, ltp: int, ts: int, spread: int = 10) -> Tick:
    depth = (DepthLevel(ltp - spread, 1000, ltp + spread, 1000),)
    return Tick(key, FeedMode.FULL, ts, ts, ltp, ltt_ns=ts, ltq=1, depth=depth)


class Calls:
    """One log of what happened in which order: ("journal", status), ("place", cid), ..."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []


class MemoryJournal:
    def __init__(self, calls: Calls | None = None) -> None:
        self.events: list[OrderEvent] = []
        self.calls = calls or Calls()
        self.writes: list[int] = []  # events per append_many

    async def append(self, event: OrderEvent) -> None:
        self.events.append(event)
        self.calls.log.append(("journal", f"{event.client_order_id}:{event.status.name}"))

    async def append_many(self, events: Sequence[OrderEvent]) -> None:
        self.writes.append(len(events))
        for event in events:
            await self.append(event)

    async def since(self, ts_init: int) -> list[OrderEvent]:
        return [e for e in self.events if e.ts_init >= ts_init]

    def of(self, cid: str) -> list[OrderEvent]:
        return [e for e in self.events if e.client_order_id == cid]


class MemoryPublisher:
    def __init__(self, calls: Calls | None = None) -> None:
        self.events: list[OrderEvent] = []
        self.calls = calls or Calls()
        self.flushes = 0

    def send(self, event: OrderEvent) -> None:
        self.events.append(event)
        self.calls.log.append(("publish", f"{event.client_order_id}:{event.status.name}"))

    async def flush(self) -> None:
        self.flushes += 1


class MemoryControl:
    def __init__(self) -> None:
        self.commands: list[KillSwitch] = []

    async def publish(self, command: KillSwitch) -> None:
        self.commands.append(command)


@dataclass
class FakeBroker:
    """A broker that acknowledges every order (OPEN) unless told otherwise.

    ``unknown``: the next places raise ``OrderStateUnknown`` (``reached``: the order is in
    the book anyway); ``reject``: the next places raise ``BrokerRejected``.
    """

    clock: FakeClock
    calls: Calls = field(default_factory=Calls)
    placed: list[PlaceRequest] = field(default_factory=list)
    send_times: list[int] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    modified: list[tuple[str, OrderIntent]] = field(default_factory=list)
    refuse_modify: int = 0
    book: dict[str, BrokerOrder] = field(default_factory=dict)
    positions_: list[BrokerPosition] = field(default_factory=list)
    unknown: int = 0
    reached: bool = True
    reject: int = 0
    tag_lookups: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def place(self, request: PlaceRequest) -> tuple[str, ...]:
        self.calls.log.append(("place", request.client_order_id))
        if self.reject:
            self.reject -= 1
            raise BrokerRejected("UDAPI100", "insufficient funds")
        self.placed.append(request)
        self.send_times.append(self.clock.now_ns())
        i = request.intent
        bid = f"B{next(self._ids)}"
        row = BrokerOrder(
            bid, request.client_order_id, i.instrument_key, i.side, i.order_type,
            i.product.value, i.quantity, 0, i.price, i.trigger_price, 0,
            OrderStatus.OPEN, "open",
        )  # fmt: skip
        if self.unknown:
            self.unknown -= 1
            if self.reached:
                self.book[bid] = row
            raise OrderStateUnknown(request.client_order_id, "answer lost")
        self.book[bid] = row
        return (bid,)

    async def modify(self, broker_order_id: str, amended: OrderIntent) -> None:
        """Applied to the book at once (the report of it is up to the test);
        ``refuse_modify``: the next modifies raise ``BrokerRejected``."""
        self.calls.log.append(("modify", broker_order_id))
        if self.refuse_modify:
            self.refuse_modify -= 1
            raise BrokerRejected("UDAPI100", "order cannot be modified")
        self.modified.append((broker_order_id, amended))
        self.send_times.append(self.clock.now_ns())
        row = self.book[broker_order_id]
        self.book[broker_order_id] = _replace(
            row,
            quantity=amended.quantity,
            price=amended.price,
            trigger_price=amended.trigger_price,
            order_type=amended.order_type,
        )

    async def cancel(self, broker_order_id: str) -> None:
        self.calls.log.append(("cancel", broker_order_id))
        self.cancelled.append(broker_order_id)

    async def order_book(self) -> list[BrokerOrder]:
        return list(self.book.values())

    async def trades(self) -> list[BrokerTrade]:
        return []

    async def positions(self) -> list[BrokerPosition]:
        return list(self.positions_)

    async def find_by_tag(self, client_order_id: str) -> list[BrokerOrder]:
        self.tag_lookups.append(client_order_id)
        return [r for r in self.book.values() if r.client_order_id == client_order_id]

    async def updates(self) -> AsyncIterator[BrokerOrder]:  # pragma: no cover - not used
        if False:
            yield

    # --- scripting ---

    def row(self, cid: str) -> BrokerOrder:
        return next(r for r in self.book.values() if r.client_order_id == cid)

    def fill(self, cid: str, filled: int, average: int) -> BrokerOrder:
        """The order's row with ``filled`` units done at ``average``, as the broker reports."""
        r = self.row(cid)
        status = OrderStatus.FILLED if filled == r.quantity else OrderStatus.PARTIALLY_FILLED
        r = _replace(r, filled_quantity=filled, average_price=average, status=status)
        self.book[r.broker_order_id] = r
        return r

    def set_status(self, cid: str, status: OrderStatus, message: str = "") -> BrokerOrder:
        r = _replace(self.row(cid), status=status, message=message)
        self.book[r.broker_order_id] = r
        return r


def _replace(row: BrokerOrder, **changes: Any) -> BrokerOrder:
    return dataclasses.replace(row, **changes)


@dataclass
class Rig:
    clock: FakeClock
    broker: FakeBroker
    journal: MemoryJournal
    publisher: MemoryPublisher
    control: MemoryControl
    engine: ExecutionEngine
    calls: Calls

    def restart(self, **kw: Any) -> Rig:
        """A new engine over the same journal, broker and clock (the process restarted)."""
        kw.setdefault("broker", self.broker)
        return make_rig(clock=self.clock, journal=self.journal, **kw)


def make_rig(
    *,
    now: int | None = None,
    limits: RiskLimits | None = None,
    mode: Literal["paper", "live"] = "paper",
    rate_mode: RateMode = RateMode.QUEUE,
    clock: FakeClock | None = None,
    broker: FakeBroker | None = None,
    journal: MemoryJournal | None = None,
    square_off: bool = False,
    algo_names: dict[str, str] | None = None,
    default_algo_name: str = "",
    metrics: EngineMetrics | None = None,
    **engine_kw: Any,
) -> Rig:
    clock = clock or FakeClock(now if now is not None else at(10, 0))
    calls = getattr(broker, "calls", None) or Calls()  # a PaperBroker has none
    broker = broker or FakeBroker(clock, calls)
    journal = journal or MemoryJournal(calls)
    publisher = MemoryPublisher(calls)
    control = MemoryControl()
    engine = ExecutionEngine(
        clock=clock,
        broker=broker,
        journal=journal,
        publisher=publisher,
        control=control,
        instruments=INSTRUMENTS.get,
        limits=limits or RiskLimits(),
        limiter=OrderRateLimiter(mode=rate_mode),
        mode=mode,
        algo_names=algo_names,
        default_algo_name=default_algo_name,
        square_off=MisSquareOff() if square_off else None,
        metrics=metrics,
        **engine_kw,
    )
    return Rig(clock, broker, journal, publisher, control, engine, calls)


async def ready_rig(**kw: Any) -> Rig:
    """A recovered engine with fresh quotes for both instruments."""
    rig = make_rig(**kw)
    await rig.engine.recover()
    quote(rig)
    return rig


def quote(rig: Rig, eq: int = 250_000, fo: int = 10_000) -> None:
    now = rig.clock.now_ns()
    rig.engine.on_tick(tick(EQ_KEY, eq, now))
    rig.engine.on_tick(tick(FO_KEY, fo, now, spread=5))


class RecordingMetrics:
    """``EngineMetrics`` that keeps every call: (name, args...)."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def intent(self) -> None:
        self.calls.append(("intent",))

    def order_status(self, status: str) -> None:
        self.calls.append(("order_status", status))

    def rejection(self, reason: str) -> None:
        self.calls.append(("rejection", reason))

    def queue_depth(self, depth: int) -> None:
        self.calls.append(("queue_depth", depth))

    def trading_state(self, scope: str, state: int) -> None:
        self.calls.append(("trading_state", scope, state))

    def pnl(self, realised: int, unrealised: int, charges: int) -> None:
        self.calls.append(("pnl", realised, unrealised, charges))

    def intent_to_ack(self, seconds: float) -> None:
        self.calls.append(("intent_to_ack", seconds))

    def quote_fetch_failed(self) -> None:
        self.calls.append(("quote_fetch_failed",))

    def reconcile_mismatch(self, count: int = 1) -> None:
        self.calls.append(("reconcile_mismatch", count))

    def named(self, name: str) -> list[tuple[object, ...]]:
        return [c for c in self.calls if c[0] == name]
