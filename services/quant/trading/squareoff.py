"""MIS square-off: at a set time each trading day, cancel the pending intraday orders and close
the open intraday (product ``I``) positions with marketable, position-reducing orders.

Pure: the caller (the execution service, on its timer) passes ``now_ns`` from its injected
clock, its positions (``quant.trading.positions``) and its orders (``quant.trading.order``);
``MisSquareOff.check`` answers with a ``SquareOffPlan`` exactly once per trading day, at or
after the square-off instant and before the session closes (a restart between the two
still squares off), and ``None`` otherwise. Delivery (``D``) positions and orders are left
alone.

When: the configured time (default 15:15 IST, ahead of the broker's own auto square-off)
applies to a normal session. A session with other timings (a special session from
``quant.core.calendar``, e.g. Muhurat trading) squares off the same interval before *its*
close: with the defaults, 15 minutes before it (18:45 for a 18:00-19:00 session). Days
without a session have no square-off.

What: one cancel per working intraday order (not those already CANCEL_PENDING) and one
MARKET DAY intent per open intraday position, on the opposite side for its whole net
quantity, for the position's own strategy (tag ``squareoff``), so each strategy's P&L is
closed on its own book. Cancels race fills: a fill arriving after the plan changes the
position, so the service should send the cancels first and, once they are answered,
recompute the closing side with :func:`closing_intents` from its positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar
from quant.core.clock import IST, ns_to_datetime
from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.intent import OrderIntent, Product
from quant.trading.order import Order
from quant.trading.positions import Position

DEFAULT_SQUARE_OFF = time(15, 15)
SQUARE_OFF_TAG = "squareoff"


@dataclass(frozen=True, slots=True)
class SquareOffPlan:
    """What to do at the day's square-off: cancel these orders, then send these intents."""

    day: date
    at_ns: int
    cancel: tuple[str, ...]
    close: tuple[OrderIntent, ...]


def closing_intents(positions: Iterable[Position]) -> tuple[OrderIntent, ...]:
    """A MARKET intent closing each open intraday position, in position-key order."""
    intents = []
    for p in sorted(positions, key=lambda p: p.key):
        if p.key.product is not Product.INTRADAY or p.net_quantity == 0:
            continue
        intents.append(
            OrderIntent(
                p.key.strategy,
                p.key.instrument_key,
                Side.SELL if p.net_quantity > 0 else Side.BUY,
                abs(p.net_quantity),
                OrderType.MARKET,
                Product.INTRADAY,
                tag=SQUARE_OFF_TAG,
            )
        )
    return tuple(intents)


def orders_to_cancel(orders: Iterable[Order]) -> tuple[str, ...]:
    """Client order ids of the working intraday orders (a cancel not already asked for)."""
    return tuple(
        sorted(
            o.client_order_id
            for o in orders
            if o.intent.product is Product.INTRADAY
            and not o.is_terminal
            and o.status is not OrderStatus.CANCEL_PENDING
        )
    )


class MisSquareOff:
    """Decides once per trading day when to square off intraday positions; see the docstring."""

    def __init__(
        self, calendar: ExchangeCalendar = NSE_CALENDAR, at: time = DEFAULT_SQUARE_OFF
    ) -> None:
        normal_close = datetime.combine(date(2000, 1, 3), calendar.normal_session.close, IST)
        lead = normal_close - datetime.combine(date(2000, 1, 3), at, IST)
        if at.tzinfo is not None or lead <= timedelta(0):
            raise ValueError(
                f"square-off time {at} must be a naive IST wall-clock time before the normal "
                f"close ({calendar.normal_session.close})"
            )
        self._calendar = calendar
        self._lead_ns = lead // timedelta(microseconds=1) * 1000
        self._done: date | None = None

    def square_off_at(self, day: date) -> tuple[int, int] | None:
        """(square-off instant, session close) on ``day`` as UTC ns; ``None`` if no session."""
        session = self._calendar.session(day)
        if session is None:
            return None
        bounds = session.times.bounds_ns(day)
        return max(bounds.close - self._lead_ns, bounds.open), bounds.close

    def check(
        self, now_ns: int, positions: Iterable[Position], orders: Iterable[Order]
    ) -> SquareOffPlan | None:
        """The day's plan the first time this is called in [square-off, close); else ``None``."""
        day = ns_to_datetime(now_ns, IST).date()
        if self._done == day:
            return None
        window = self.square_off_at(day)
        if window is None or not window[0] <= now_ns < window[1]:
            return None
        self._done = day
        return SquareOffPlan(day, window[0], orders_to_cancel(orders), closing_intents(positions))

    @property
    def done_for(self) -> date | None:
        """The last day a plan was issued (so a restarted service can restore it)."""
        return self._done

    def mark_done(self, day: date) -> None:
        """Record that ``day``'s square-off already happened (e.g. replayed from the audit log)."""
        self._done = day
