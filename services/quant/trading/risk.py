"""Pre-trade risk: ``check(intent, snapshot, limits) -> Accepted | Rejected``, a pure function.

The execution service calls it once per intent (strategy or manual), before the order is
recorded or sent, with a ``RiskSnapshot`` (``quant.trading.snapshot``) of the instrument,
its quote, the account's positions and working orders, the day's P&L, the trading states
and ``now_ns`` from its injected clock. No I/O, no clock, integer paise and units.

The rules, in the order they are checked (the first failure is the rejection; codes in
``quant.trading.risk_limits.RejectReason``):

1. trading state: HALTED (account or strategy) refuses everything;
2. the instrument is known, not an index, and has not expired (expiry before today, IST);
3. market hours from the exchange calendar: order entry is open in continuous trading
   (``open`` <= now < ``close``) and, for the cash segments (``NSE_EQ``/``BSE_EQ``), in the
   pre-open order-entry window; outside the session day (``pre_open_start`` to
   ``closing_end``) and on closed days a DAY order goes as an after-market order (AMO)
   if ``allow_amo``; any other time (e.g. 15:30-16:00 IST) is closed;
4. quantity a whole number of lots; 5. price and trigger price multiples of the tick;
6. a quote, not older than ``max_quote_age_ns`` (not asked of AMOs: the market is shut);
7. price and trigger price inside the circuit limits (``lower`` <= p <= ``upper``);
8. MARKET / SL-M get a protection limit ``market_protection_pct`` beyond the touch (best
   ask for a BUY, best bid for a SELL, LTP if that side is empty) or the trigger, rounded
   to the tick inward and clipped to the circuit limits; no price to start from is NO_QUOTE;
9. order value = quantity x reference price (the limit price, or the protection limit)
   at most ``max_order_value``;
10. REDUCING (by state, or because the day's loss reached the account's or the strategy's
    ``max_daily_loss``): the order must be position-reducing (``quant.trading.state``) for
    each scope that is reducing;
11. positions, worst case (every working order on the intent's side fills too):
    account's units in the instrument (all strategies and products) and their value at the
    reference price; the strategy's units in the instrument; the strategy's gross exposure
    (``strategy_other_exposure`` + its units here x reference price). An order that does
    not make the worst-case position larger in size is never refused by these;
12. freeze quantity: above it, split into child orders of the largest whole number of lots
    not above it (at most 25, Upstox's ``slice`` limit) or reject, by ``freeze_policy``;
13. working orders of the account plus the new child orders at most ``max_open_orders``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from quant.core.calendar import ExchangeCalendar, SessionBounds
from quant.core.clock import IST, NS_PER_SECOND
from quant.core.instruments import Instrument
from quant.core.money import paise_to_str
from quant.core.orders import OrderType, Side
from quant.trading.intent import OrderIntent, Validity
from quant.trading.risk_limits import MAX_CHILD_ORDERS, FreezePolicy, RejectReason, RiskLimits
from quant.trading.snapshot import Quote, RiskSnapshot
from quant.trading.state import ACCOUNT, TradingState, is_position_reducing

R = RejectReason
_NS_PER_DAY = 86_400 * NS_PER_SECOND
_IST_OFFSET_NS = int(IST.utcoffset(None).total_seconds()) * NS_PER_SECOND
_EPOCH = date(1970, 1, 1)
_CASH_SEGMENTS = frozenset({"NSE_EQ", "BSE_EQ"})


@dataclass(frozen=True, slots=True)
class ChildOrder:
    """One order to record and send: a slice of the intent (or all of it).

    ``protection_price`` is the worst price a MARKET / SL-M order may fill at (0 for LIMIT
    and SL); ``market_protection_pct`` is what Upstox's ``market_protection`` is sent as.
    """

    intent: OrderIntent
    is_amo: bool = False
    market_protection_pct: int = 0
    protection_price: int = 0


@dataclass(frozen=True, slots=True)
class Accepted:
    children: tuple[ChildOrder, ...]
    #: the limit price, or the protection limit of a MARKET / SL-M order (paise)
    reference_price: int


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason
    message: str


def ist_date(ns: int) -> date:
    """The IST calendar date of a UTC-nanosecond instant."""
    return _day((ns + _IST_OFFSET_NS) // _NS_PER_DAY)


@lru_cache(maxsize=16)
def _day(days_since_epoch: int) -> date:
    return _EPOCH + timedelta(days=days_since_epoch)


@lru_cache(maxsize=64)
def _bounds(calendar: ExchangeCalendar, day: date) -> SessionBounds | None:
    session = calendar.session(day)
    return None if session is None else session.times.bounds_ns(day)


def _rupees(paise: int) -> str:
    return f"₹{paise_to_str(paise)}"


def _instrument_rule(
    intent: OrderIntent, inst: Instrument | None, today: date
) -> Rejected | Instrument:
    if inst is None or inst.instrument_key != intent.instrument_key:
        return Rejected(
            R.UNKNOWN_INSTRUMENT,
            f"instrument {intent.instrument_key} is not in today's instrument master",
        )
    if inst.is_index:
        return Rejected(R.NOT_TRADABLE, f"{inst.trading_symbol} is an index; it cannot be ordered")
    if inst.expiry is not None and inst.expiry < today:
        return Rejected(
            R.INSTRUMENT_EXPIRED,
            f"{inst.trading_symbol} expired on {inst.expiry.isoformat()}",
        )
    return inst


def _session_rule(
    intent: OrderIntent, inst: Instrument, snap: RiskSnapshot, limits: RiskLimits, today: date
) -> Rejected | bool:
    """Rejected, or whether the order goes as an AMO."""
    now = snap.now_ns
    b = _bounds(snap.calendar, today)
    if b is not None:
        if b.open <= now < b.close:
            return False
        if inst.segment in _CASH_SEGMENTS and b.pre_open_start <= now < b.pre_open_end:
            return False
    amo_window = b is None or now < b.pre_open_start or now >= b.closing_end
    if amo_window and limits.allow_amo and intent.validity is Validity.DAY:
        return True
    why = snap.calendar.closed_reason(today) or "outside order-entry hours"
    amo = (
        ""
        if not amo_window
        else " (after-market orders are off)"
        if not limits.allow_amo
        else " (an after-market order must be DAY, not IOC)"
    )
    return Rejected(R.MARKET_CLOSED, f"the market is closed for orders: {why}{amo}")


def _price_rules(
    intent: OrderIntent,
    inst: Instrument,
    quote: Quote | None,
    snap: RiskSnapshot,
    limits: RiskLimits,
    is_amo: bool,
) -> Rejected | Quote:
    tick = inst.tick_size_paise if inst.tick_size_paise > 0 else 1
    for value, what in ((intent.price, "price"), (intent.trigger_price, "trigger price")):
        if value % tick:
            return Rejected(
                R.TICK_SIZE,
                f"{what} {_rupees(value)} is not a multiple of the tick size {_rupees(tick)}",
            )
    if quote is None:
        return Rejected(R.NO_QUOTE, f"no quote for {inst.trading_symbol} yet")
    age = snap.now_ns - quote.ts_event
    if not is_amo and limits.max_quote_age_ns and age > limits.max_quote_age_ns:
        return Rejected(
            R.NO_QUOTE,
            f"the quote for {inst.trading_symbol} is {age / NS_PER_SECOND:.1f} s old (stale; "
            f"the limit is {limits.max_quote_age_ns / NS_PER_SECOND:.1f} s)",
        )
    lo, hi = quote.lower_circuit, quote.upper_circuit
    for value, what in ((intent.price, "price"), (intent.trigger_price, "trigger price")):
        if value and ((lo and value < lo) or (hi and value > hi)):
            return Rejected(
                R.PRICE_BAND,
                f"{what} {_rupees(value)} is outside today's circuit limits "
                f"{_rupees(lo)}-{_rupees(hi)}",
            )
    return quote


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def protection_price(side: Side, start: int, pct: int, tick: int, quote: Quote) -> int:
    """The protection limit ``pct`` percent beyond ``start``, on the tick, inside the band.

    A BUY's limit is rounded down to the tick and capped at the upper circuit; a SELL's is
    rounded up and floored at the lower circuit (and at one tick).
    """
    if side is Side.BUY:
        limit = start * (100 + pct) // 100 // tick * tick
        if quote.upper_circuit:
            limit = min(limit, quote.upper_circuit)
        return max(limit, tick)
    limit = _ceil_div(_ceil_div(start * (100 - pct), 100), tick) * tick
    if quote.lower_circuit:
        limit = max(limit, quote.lower_circuit)
    return max(limit, tick)


def _reference(
    intent: OrderIntent, inst: Instrument, quote: Quote, limits: RiskLimits
) -> Rejected | tuple[int, int]:
    """(reference price, protection price or 0)."""
    if intent.order_type in (OrderType.LIMIT, OrderType.SL):
        return intent.price, 0
    if intent.order_type is OrderType.SL_M:
        start = intent.trigger_price
    elif intent.side is Side.BUY:
        start = quote.best_ask or quote.ltp
    else:
        start = quote.best_bid or quote.ltp
    if start <= 0:
        return Rejected(
            R.NO_QUOTE,
            f"no price in the quote of {inst.trading_symbol} to protect a market order with",
        )
    tick = inst.tick_size_paise if inst.tick_size_paise > 0 else 1
    prot = protection_price(intent.side, start, limits.market_protection_pct, tick, quote)
    return prot, prot


def _reducing_rule(intent: OrderIntent, snap: RiskSnapshot, limits: RiskLimits) -> Rejected | None:
    strat = limits.for_strategy(intent.strategy)
    if (
        snap.account_state is TradingState.ACTIVE
        and snap.strategy_state is TradingState.ACTIVE
        and not limits.max_daily_loss
        and not strat.max_daily_loss
    ):
        return None
    for scope, state, loss, cap in (
        (ACCOUNT, snap.account_state, snap.account_pnl.loss, limits.max_daily_loss),
        (intent.strategy, snap.strategy_state, snap.strategy_pnl.loss, strat.max_daily_loss),
    ):
        by_loss = bool(cap) and loss >= cap
        if state is not TradingState.REDUCING and not by_loss:
            continue
        who = None if scope == ACCOUNT else scope
        net = snap.net_quantity(who, intent.product)
        working = snap.working_quantity(intent.instrument_key, intent.side, who, intent.product)
        if is_position_reducing(intent, net, working):
            continue
        name = "the account" if scope == ACCOUNT else f"strategy {scope}"
        why = (
            f"{name} is reducing-only"
            if state is TradingState.REDUCING
            else f"{name}'s loss today {_rupees(loss)} reached its limit of {_rupees(cap)}"
        )
        code = R.REDUCING_ONLY if state is TradingState.REDUCING else R.DAILY_LOSS
        return Rejected(
            code,
            f"{why}: only orders that reduce its position are allowed, and this "
            f"{intent.side.name} of {intent.quantity} does not (position {net}, "
            f"{working} already working on that side)",
        )
    return None


def _exposures(intent: OrderIntent, snap: RiskSnapshot) -> tuple[int, int, int, int]:
    """(account net, account worst case, strategy net, strategy worst case) in the
    instrument over all products, in one pass over positions and working orders."""
    strategy, key, side = intent.strategy, intent.instrument_key, intent.side
    net = s_net = 0
    for p in snap.positions:
        net += p.net_quantity
        if p.strategy == strategy:
            s_net += p.net_quantity
    same = s_same = 0
    for o in snap.working_orders:
        if o.instrument_key == key and o.side is side:
            same += o.remaining_quantity
            if o.strategy == strategy:
                s_same += o.remaining_quantity
    if side is Side.BUY:
        return net, net + same + intent.quantity, s_net, s_net + s_same + intent.quantity
    return net, net - same - intent.quantity, s_net, s_net - s_same - intent.quantity


def _position_rules(
    intent: OrderIntent, snap: RiskSnapshot, limits: RiskLimits, ref: int
) -> Rejected | None:
    key = intent.instrument_key
    net, after, s_net, s_after = _exposures(intent, snap)
    if abs(after) > abs(net):  # the worst case grows: the limits apply
        if limits.max_position_quantity and abs(after) > limits.max_position_quantity:
            return Rejected(
                R.POSITION_QUANTITY,
                f"the account's position in {key} could reach {after} units (with working "
                f"orders), above the limit of {limits.max_position_quantity}",
            )
        if limits.max_position_value and abs(after) * ref > limits.max_position_value:
            return Rejected(
                R.POSITION_VALUE,
                f"the account's position in {key} could reach {_rupees(abs(after) * ref)}, "
                f"above the limit of {_rupees(limits.max_position_value)}",
            )
    if abs(s_after) > abs(s_net):
        strat = limits.for_strategy(intent.strategy)
        if strat.max_position_quantity and abs(s_after) > strat.max_position_quantity:
            return Rejected(
                R.STRATEGY_POSITION_QUANTITY,
                f"strategy {intent.strategy}'s position in {key} could reach {s_after} units, "
                f"above its limit of {strat.max_position_quantity}",
            )
        exposure = snap.strategy_other_exposure + abs(s_after) * ref
        if strat.max_exposure and exposure > strat.max_exposure:
            return Rejected(
                R.STRATEGY_EXPOSURE,
                f"strategy {intent.strategy}'s gross exposure could reach {_rupees(exposure)}, "
                f"above its limit of {_rupees(strat.max_exposure)}",
            )
    return None


def child_quantities(quantity: int, lot_size: int, freeze: int) -> tuple[int, ...]:
    """Slices of ``quantity``: each the largest whole number of lots <= ``freeze``, the rest
    last (``()`` if a single lot is above the freeze quantity)."""
    if not freeze or quantity <= freeze:
        return (quantity,)
    size = freeze // lot_size * lot_size
    if size <= 0:
        return ()
    full, rest = divmod(quantity, size)
    return (size,) * full + ((rest,) if rest else ())


def check(intent: OrderIntent, snap: RiskSnapshot, limits: RiskLimits) -> Accepted | Rejected:
    """Apply every pre-trade rule to ``intent``; see the module docstring for the order."""
    if TradingState.HALTED in (snap.account_state, snap.strategy_state):
        who = (
            "the account"
            if snap.account_state is TradingState.HALTED
            else (f"strategy {intent.strategy}")
        )
        return Rejected(R.HALTED, f"trading is halted for {who}; resume it to place orders")
    today = ist_date(snap.now_ns)
    inst = _instrument_rule(intent, snap.instrument, today)
    if isinstance(inst, Rejected):
        return inst
    amo = _session_rule(intent, inst, snap, limits, today)
    if isinstance(amo, Rejected):
        return amo
    lot = inst.lot_size if inst.lot_size > 0 else 1
    if intent.quantity % lot:
        return Rejected(
            R.LOT_SIZE,
            f"quantity {intent.quantity} is not a whole number of lots of {lot} "
            f"({inst.trading_symbol})",
        )
    quote = _price_rules(intent, inst, snap.quote, snap, limits, amo)
    if isinstance(quote, Rejected):
        return quote
    ref = _reference(intent, inst, quote, limits)
    if isinstance(ref, Rejected):
        return ref
    price, protection = ref
    value = intent.quantity * price
    if limits.max_order_value and value > limits.max_order_value:
        return Rejected(
            R.ORDER_VALUE,
            f"order value {_rupees(value)} ({intent.quantity} x {_rupees(price)}) is above "
            f"the limit of {_rupees(limits.max_order_value)}",
        )
    bad = _reducing_rule(intent, snap, limits) or _position_rules(intent, snap, limits, price)
    if bad is not None:
        return bad
    freeze = inst.freeze_quantity
    slices = child_quantities(intent.quantity, lot, freeze)
    if len(slices) > 1 and limits.freeze_policy is FreezePolicy.REJECT:
        return Rejected(
            R.FREEZE_QUANTITY,
            f"quantity {intent.quantity} is above the freeze quantity {freeze} of "
            f"{inst.trading_symbol}, and splitting is off",
        )
    if not slices or len(slices) > MAX_CHILD_ORDERS:
        return Rejected(
            R.FREEZE_QUANTITY,
            f"quantity {intent.quantity} above the freeze quantity {freeze} of "
            f"{inst.trading_symbol} needs more than {MAX_CHILD_ORDERS} child orders",
        )
    if limits.max_open_orders and len(snap.working_orders) + len(slices) > limits.max_open_orders:
        return Rejected(
            R.OPEN_ORDERS,
            f"the account has {len(snap.working_orders)} working orders; {len(slices)} more "
            f"would pass the limit of {limits.max_open_orders}",
        )
    pct = limits.market_protection_pct if protection else 0
    if len(slices) == 1:
        children: tuple[ChildOrder, ...] = (ChildOrder(intent, amo, pct, protection),)
    else:
        children = tuple(
            ChildOrder(dataclasses.replace(intent, quantity=q), amo, pct, protection)
            for q in slices
        )
    return Accepted(children, price)
