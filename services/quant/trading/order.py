"""``Order``: one order's state as the OMS holds it, and ``Fill``, one execution of it.

An ``Order`` is immutable; each operation (acknowledgement, fill, trigger, modify/cancel
request and its answer, rejection, cancellation) returns a new ``Order`` or raises a
``TradingError`` and changes nothing. Every status change is checked against
``quant.trading.transitions.TRANSITIONS``. Times are UTC nanoseconds given by the caller
(from its injected clock); nothing here reads a clock.

Fills accumulate exactly: ``filled_quantity`` (units) and ``filled_value`` (the sum of
price x quantity over the fills, in paise). A fill that would take the filled quantity past
the order's quantity raises ``OverFill``. ``average_price`` is ``filled_value /
filled_quantity`` rounded to the paisa, halves away from zero (``quant.trading.rounding``);
it is for display and risk: P&L is computed from the exact ``filled_value``.

The working status of an order (the one it returns to when a modify or cancel request is
answered) is PARTIALLY_FILLED once anything has filled, TRIGGER_PENDING for a stop order
whose trigger has not been hit, and OPEN otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from quant.core.orders import OrderEvent, OrderStatus, Side
from quant.trading.errors import (
    IllegalTransition,
    InvalidFill,
    InvalidIntent,
    OverFill,
    TradingError,
)
from quant.trading.intent import Amendment, OrderIntent, Product
from quant.trading.rounding import div_round
from quant.trading.slots import new_instance, slot_setters
from quant.trading.transitions import check_transition

S = OrderStatus
_UNFILLED_STATUSES = frozenset({S.PENDING_NEW, S.OPEN, S.TRIGGER_PENDING, S.REJECTED})
_REQUEST_PENDING = frozenset({S.MODIFY_PENDING, S.CANCEL_PENDING})


def _check_whole(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidFill(f"{what} must be a positive whole number, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution (or, in a replay, several merged): ``value`` = sum of price x quantity."""

    client_order_id: str
    strategy: str
    instrument_key: str
    product: Product
    side: Side
    quantity: int
    value: int
    ts_event: int

    def __post_init__(self) -> None:
        _check_whole(self.quantity, "fill quantity")
        _check_whole(self.value, "fill value (paise)")

    @property
    def price(self) -> int:
        """Average price of this fill in paise (exact for a single execution)."""
        return div_round(self.value, self.quantity)

    @property
    def signed_quantity(self) -> int:
        """Units bought (positive) or sold (negative)."""
        return self.quantity if self.side is Side.BUY else -self.quantity


@dataclass(frozen=True, slots=True)
class Order:
    """An order and everything the OMS knows about it; see the module docstring."""

    client_order_id: str
    intent: OrderIntent
    status: OrderStatus
    ts_created: int
    ts_event: int
    filled_quantity: int = 0
    filled_value: int = 0
    broker_order_id: str = ""
    message: str = ""
    triggered: bool = False
    pending: Amendment | None = None

    def __post_init__(self) -> None:
        qty, filled = self.intent.quantity, self.filled_quantity
        if not 0 <= filled <= qty:
            raise OverFill(f"order {self.client_order_id}: filled {filled} of {qty}")
        if (filled == 0) != (self.filled_value == 0) or self.filled_value < 0:
            raise InvalidFill(
                f"order {self.client_order_id}: filled value {self.filled_value} paise does not "
                f"match filled quantity {filled}"
            )
        if (self.status is S.FILLED) != (filled == qty):
            raise TradingError(
                f"order {self.client_order_id}: status {self.status.name} with {filled} of "
                f"{qty} filled"
            )
        if self.status in _UNFILLED_STATUSES and filled:
            raise TradingError(
                f"order {self.client_order_id}: status {self.status.name} with {filled} filled"
            )
        if self.status is S.PARTIALLY_FILLED and not filled:
            raise TradingError(f"order {self.client_order_id}: PARTIALLY_FILLED with 0 filled")
        if self.pending is not None and self.status is not S.MODIFY_PENDING:
            raise TradingError(
                f"order {self.client_order_id}: a pending amendment only goes with MODIFY_PENDING"
            )

    # --- construction and views -----------------------------------------------------------

    @classmethod
    def new(cls, intent: OrderIntent, client_order_id: str, ts: int) -> Order:
        """A new order, PENDING_NEW: recorded, about to be sent to the broker."""
        if not client_order_id:
            raise InvalidIntent("an order needs a client order id")
        if cls is not Order:  # a subclass gets its own __init__
            return cls(client_order_id, intent, S.PENDING_NEW, ts_created=ts, ts_event=ts)
        # valid by construction (nothing filled, nothing pending; the intent is valid)
        return _order(client_order_id, intent, S.PENDING_NEW, ts, ts, 0, 0, "", "", False, None)

    @property
    def remaining_quantity(self) -> int:
        return self.intent.quantity - self.filled_quantity

    @property
    def average_price(self) -> int:
        """Average fill price in paise, rounded half away from zero; 0 before any fill."""
        return div_round(self.filled_value, self.filled_quantity) if self.filled_quantity else 0

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def working_status(self) -> OrderStatus:
        """The status a live order returns to when a modify or cancel request is answered."""
        if self.filled_quantity:
            return S.PARTIALLY_FILLED
        if self.intent.is_stop and not self.triggered:
            return S.TRIGGER_PENDING
        return S.OPEN

    def to_event(self, ts_init: int, mode: str) -> OrderEvent:
        """The ``OrderEvent`` for this state (audit trail, ``orders.events``)."""
        i = self.intent
        return OrderEvent(
            client_order_id=self.client_order_id,
            instrument_key=i.instrument_key,
            side=i.side,
            order_type=i.order_type,
            quantity=i.quantity,
            status=self.status,
            ts_event=self.ts_event,
            ts_init=ts_init,
            broker_order_id=self.broker_order_id,
            product=i.product.value,
            validity=i.validity.value,
            price=i.price,
            trigger_price=i.trigger_price,
            filled_quantity=self.filled_quantity,
            filled_value=self.filled_value,
            message=self.message,
            strategy=i.strategy,
            mode=mode,
        )

    # --- operations ---------------------------------------------------------------------------

    def _move(self, status: OrderStatus, ts: int, **changes: Any) -> Order:
        check_transition(self.status, status, self.client_order_id)
        # what dataclasses.replace does, without its per-call field introspection and the
        # frozen __init__'s object.__setattr__ per field; __post_init__ still checks it
        values = {n: getattr(self, n) for n in _ORDER_FIELDS}
        values.update(changes, status=status, ts_event=ts)
        order = _order(**values)
        order.__post_init__()
        return order

    def accepted(self, broker_order_id: str, ts: int) -> Order:
        """The broker acknowledged the order under ``broker_order_id``.

        From PENDING_NEW the order starts working (OPEN, or TRIGGER_PENDING for a stop). An
        acknowledgement that arrives after the order moved on (a fill or a cancel request
        won the race) or arrives again only records the broker id.
        """
        if not broker_order_id:
            raise InvalidIntent(f"order {self.client_order_id}: empty broker order id")
        if self.broker_order_id and self.broker_order_id != broker_order_id:
            raise TradingError(
                f"order {self.client_order_id} is broker order {self.broker_order_id}, "
                f"not {broker_order_id}"
            )
        if self.status is S.PENDING_NEW:
            # the hot path of every order, built without __init__: a PENDING_NEW order has
            # nothing filled and nothing pending, so it is valid as OPEN / TRIGGER_PENDING
            status = self.working_status()
            check_transition(S.PENDING_NEW, status, self.client_order_id)
            return _order(
                self.client_order_id,
                self.intent,
                status,
                self.ts_created,
                ts,
                self.filled_quantity,
                self.filled_value,
                broker_order_id,
                self.message,
                self.triggered,
                self.pending,
            )
        return dataclasses.replace(self, broker_order_id=broker_order_id)

    def rejected(self, reason: str, ts: int) -> Order:
        """The broker, the exchange or our own risk check refused the order."""
        return self._move(S.REJECTED, ts, message=reason, pending=None)

    def triggered_at(self, ts: int) -> Order:
        """A stop order's trigger price was reached; it now works as LIMIT (SL) or MARKET."""
        if not self.intent.is_stop or self.triggered:
            raise IllegalTransition(
                f"order {self.client_order_id} ({self.status.name}) is not waiting for a trigger"
            )
        if self.status in _REQUEST_PENDING:
            return self._move(self.status, ts, triggered=True)
        return self._move(S.OPEN, ts, triggered=True)

    def fill(self, quantity: int, price: int, ts: int) -> tuple[Order, Fill]:
        """Apply one execution of ``quantity`` units at ``price`` paise."""
        _check_whole(quantity, "fill quantity")
        _check_whole(price, "fill price (paise)")
        filled = self.filled_quantity + quantity
        if filled > self.intent.quantity:
            raise OverFill(
                f"order {self.client_order_id}: a fill of {quantity} would make {filled} filled "
                f"of {self.intent.quantity} ordered ({self.filled_quantity} already filled)"
            )
        if filled == self.intent.quantity:
            status = S.FILLED
        elif self.status in _REQUEST_PENDING:
            status = self.status
        else:
            status = S.PARTIALLY_FILLED
        check_transition(self.status, status, self.client_order_id)
        # valid by construction (the OMS hot path, built without __init__): 0 < filled <=
        # quantity and filled_value > 0 (both checked above); FILLED exactly when all is
        # filled, otherwise PARTIALLY_FILLED or the request still pending; the pending
        # amendment kept only with MODIFY_PENDING
        i = self.intent
        value = quantity * price
        order = _order(
            self.client_order_id,
            i,
            status,
            self.ts_created,
            ts,
            filled,
            self.filled_value + value,
            self.broker_order_id,
            self.message,
            i.is_stop,
            self.pending if status is S.MODIFY_PENDING else None,
        )
        cid = self.client_order_id
        fill = _fill(cid, i.strategy, i.instrument_key, i.product, i.side, quantity, value, ts)
        return order, fill

    def modify_requested(self, amendment: Amendment, ts: int) -> Order:
        """A modification was sent to the broker; it applies when the broker confirms it."""
        if self.status is S.MODIFY_PENDING:
            raise IllegalTransition(
                f"order {self.client_order_id} already has a modification pending; wait for "
                "the broker's answer"
            )
        amended = amendment.apply(self.intent)
        self._check_amended(amended)
        return self._move(S.MODIFY_PENDING, ts, pending=amendment)

    def modified(self, ts: int) -> Order:
        """The broker applied the pending modification.

        ``InvalidIntent`` if fills that arrived meanwhile leave the new quantity at or below
        the filled quantity (the broker refuses such a change too: use ``request_refused``).
        """
        if self.pending is None:
            raise IllegalTransition(
                f"order {self.client_order_id} ({self.status.name}) has no modification pending"
            )
        amended = self.pending.apply(self.intent)
        self._check_amended(amended)
        base = dataclasses.replace(self, intent=amended, pending=None)
        return base._move(base.working_status(), ts, message="")

    def cancel_requested(self, ts: int) -> Order:
        """A cancellation was sent to the broker (it overrides a modification in flight)."""
        return self._move(S.CANCEL_PENDING, ts, pending=None)

    def cancelled(self, ts: int, reason: str = "") -> Order:
        """The order is cancelled (on request, IOC remainder, end of day, by the exchange)."""
        return self._move(S.CANCELLED, ts, pending=None, message=reason or self.message)

    def request_refused(self, reason: str, ts: int) -> Order:
        """The broker refused the pending modify or cancel; the order keeps working as it was."""
        if self.status not in _REQUEST_PENDING:
            raise IllegalTransition(
                f"order {self.client_order_id} ({self.status.name}) has no modify or cancel "
                "request pending"
            )
        return self._move(self.working_status(), ts, pending=None, message=reason)

    def _check_amended(self, amended: OrderIntent) -> None:
        i = self.intent
        if (amended.strategy, amended.instrument_key, amended.side, amended.product) != (
            i.strategy,
            i.instrument_key,
            i.side,
            i.product,
        ):
            raise InvalidIntent(
                "a modification cannot change strategy, instrument, side or product"
            )
        if amended.quantity <= self.filled_quantity:
            raise InvalidIntent(
                f"order {self.client_order_id}: quantity {amended.quantity} is not above the "
                f"{self.filled_quantity} already filled"
            )


_ORDER_FIELDS = tuple(f.name for f in dataclasses.fields(Order))
(_o_cid, _o_intent, _o_status, _o_created, _o_event, _o_qty, _o_value, _o_bid, _o_msg, _o_trig,
 _o_pending) = slot_setters(Order, (
    "client_order_id", "intent", "status", "ts_created", "ts_event", "filled_quantity",
    "filled_value", "broker_order_id", "message", "triggered", "pending",
))  # fmt: skip
(_f_cid, _f_strategy, _f_key, _f_product, _f_side, _f_qty, _f_value, _f_event) = slot_setters(
    Fill,
    ("client_order_id", "strategy", "instrument_key", "product", "side", "quantity", "value",
     "ts_event"),
)  # fmt: skip


def _order(
    client_order_id: str,
    intent: OrderIntent,
    status: OrderStatus,
    ts_created: int,
    ts_event: int,
    filled_quantity: int,
    filled_value: int,
    broker_order_id: str,
    message: str,
    triggered: bool,
    pending: Amendment | None,
) -> Order:
    """An ``Order`` from every field, without ``__init__`` / ``__post_init__``
    (``quant.trading.slots``): only for values valid by construction, or checked after."""
    o: Order = new_instance(Order)
    _o_cid(o, client_order_id)
    _o_intent(o, intent)
    _o_status(o, status)
    _o_created(o, ts_created)
    _o_event(o, ts_event)
    _o_qty(o, filled_quantity)
    _o_value(o, filled_value)
    _o_bid(o, broker_order_id)
    _o_msg(o, message)
    _o_trig(o, triggered)
    _o_pending(o, pending)
    return o


def _fill(
    client_order_id: str,
    strategy: str,
    instrument_key: str,
    product: Product,
    side: Side,
    quantity: int,
    value: int,
    ts_event: int,
) -> Fill:
    """A ``Fill`` without ``__init__`` / ``__post_init__``: quantity and value already > 0."""
    f: Fill = new_instance(Fill)
    _f_cid(f, client_order_id)
    _f_strategy(f, strategy)
    _f_key(f, instrument_key)
    _f_product(f, product)
    _f_side(f, side)
    _f_qty(f, quantity)
    _f_value(f, value)
    _f_event(f, ts_event)
    return f
