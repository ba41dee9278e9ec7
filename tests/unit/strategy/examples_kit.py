"""A driver for the shipped example strategies' tests: one strategy in a ``StrategyHost`` on a
``FakeClock``, fed hand-built events, its commands read back as plain tuples, and a tiny
execution that answers its orders with order events."""

from __future__ import annotations

from typing import Any

from strategy_kit import DAY, ist

from quant.core.clock import FakeClock
from quant.core.events import AggressorSide, Candle, EnrichedTick, ScannerSuggestion
from quant.core.orders import OrderEvent, OrderStatus
from quant.core.symbols import InstrumentIndex
from quant.trading.intent import IntentMessage, OrderIntent
from quant.trading.strategy import CancelRequest, Strategy, StrategyHost

SID = "ex"


def order_tuple(intent: OrderIntent) -> tuple[str, str, int, str, int, int, str]:
    """(key, side, quantity, type, price, trigger, product) of an intent."""
    return (
        intent.instrument_key,
        intent.side.name,
        intent.quantity,
        intent.order_type.name,
        intent.price,
        intent.trigger_price,
        intent.product.value,
    )


class Driver:
    """One strategy on a fake clock; ``sent()`` returns what it emitted since the last call."""

    def __init__(
        self,
        strategy: Strategy[Any],
        params: dict[str, object],
        *,
        start: int | None = None,
        instruments: InstrumentIndex | None = None,
    ) -> None:
        self.clock = FakeClock(ist(9, 15) if start is None else start)
        self.host = StrategyHost(self.clock, instruments=instruments)
        self.strategy = strategy
        self.ctx = self.host.add(strategy, strategy_id=SID, params=params)
        self.host.start()
        self.orders: dict[str, OrderIntent] = {}  # client order id -> intent
        self._ids: list[str] = []

    def at(self, hh: int, mm: int, ss: int = 0) -> None:
        """Let the clock run to this IST time (timers fire)."""
        self.clock.set_ns(ist(hh, mm, ss))
        self.host.on_time()

    def bar(
        self, hh: int, mm: int, o: int, h: int, lo: int, c: int, *, key: str, v: int = 1_000
    ) -> None:
        """The 1-minute candle starting at hh:mm, delivered at its end."""
        start = ist(hh, mm)
        self.clock.set_ns(start + 60 * 10**9)
        self.host.on_candle(Candle(key, 60, start, o, h, lo, c, v, 0, 1))

    def flat_bars(
        self, key: str, from_hm: tuple[int, int], to_hm: tuple[int, int], px: int
    ) -> None:
        """One-price 1-minute candles from one IST minute to another (inclusive)."""
        m0, m1 = from_hm[0] * 60 + from_hm[1], to_hm[0] * 60 + to_hm[1]
        for m in range(m0, m1 + 1):
            self.bar(m // 60, m % 60, px, px, px, px, key=key)

    def suggestion(self, key: str, rank: int = 1, symbol: str = "X") -> None:
        self.host.on_suggestion(
            ScannerSuggestion(key, symbol, self.clock.now_ns(), rank, 1.0, ("test",), 100_000)
        )

    def enriched(self, tick: EnrichedTick) -> None:
        self.clock.set_ns(tick.ts_event)
        self.host.on_enriched(tick)

    def sent(self) -> list[tuple[Any, ...]]:
        """The commands since the last call: order tuples, or ("CANCEL", client order id)."""
        out: list[tuple[Any, ...]] = []
        for e in self.host.drain():
            command = e.command
            if isinstance(command, CancelRequest):
                out.append(("CANCEL", command.client_order_id))
            else:
                assert isinstance(command, IntentMessage)
                out.append(order_tuple(command.intent))
        return out

    def last_ids(self, n: int = 1) -> list[str]:
        """The client order ids of the strategy's last ``n`` open orders, oldest first."""
        return [o.client_order_id for o in self.ctx.open_orders()][-n:]

    def answer(self, cid: str, status: OrderStatus, *, fill_price: int = 0) -> None:
        """An order event for one of the strategy's open orders: ``FILLED`` fills all of it
        at ``fill_price``; other statuses fill nothing."""
        (o,) = [x for x in self.ctx.open_orders() if x.client_order_id == cid]
        filled = o.quantity if status is OrderStatus.FILLED else 0
        now = self.clock.now_ns()
        self.host.on_order_event(
            OrderEvent(
                cid, o.instrument_key, o.side, o.order_type, o.quantity, status, now, now,
                broker_order_id=f"B-{cid}", product=o.product.value, price=o.price,
                trigger_price=o.trigger_price, filled_quantity=filled,
                filled_value=filled * fill_price, strategy=SID,
            )
        )  # fmt: skip

    def fill(self, cid: str, price: int) -> None:
        self.answer(cid, OrderStatus.FILLED, fill_price=price)


def enriched_tick(
    ts: int,
    ltp: int,
    *,
    key: str,
    vwap: float = 0.0,
    imbalance: float = 0.0,
    aggressor: AggressorSide = AggressorSide.NONE,
    delta: float = float("nan"),
    iv: float = float("nan"),
) -> EnrichedTick:
    """An enriched tick with the features the examples read (others neutral)."""
    return EnrichedTick(
        key, ts, ts, ltp, 0, vwap, vwap, imbalance, imbalance, imbalance, 5, 1.0, float(ltp),
        aggressor, 1, 0, 0, 0.0, ts, iv, delta,
    )  # fmt: skip


__all__ = ["DAY", "SID", "Driver", "enriched_tick", "ist", "order_tuple"]
