"""Matching engine of the simulated broker: validates, triggers and fills user orders.

Orders fill against the market model's displayed depth (:meth:`Market.book`): a MARKET or
marketable LIMIT order walks the opposite side level by level (partial fills), what the
user took in a step is not offered again in that step, DAY remainders rest and retry every
step, IOC remainders are cancelled, SL/SL-M wait for the LTP to cross the trigger. Rejects
synchronously with Upstox-style codes (circuit limits, tick, lot, freeze, market closed).
MARKET and SL-M orders never fill outside the circuit limits; with ``market_protection``
they become limit orders at the protection price (the remainder of a DAY order rests
there). Called by the order routes and, each step, by the server's market loop.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from quant.core.clock import IST, ns_to_datetime
from quant.core.money import to_paise
from quant.sim import orders as st
from quant.sim.calendar import Phase
from quant.sim.errors import SimApiError
from quant.sim.market import Market
from quant.sim.orders import SimFill, SimOrder

# Codes Upstox documents (UPSTOX.md 1.5) where known; the others are the simulator's own
# choice in the same family (Upstox's exact codes for these rejections are UNCONFIRMED).
PRICE_NOT_REQUIRED = "UDAPI1040"
MARKET_CLOSED = "UDAPI100057"
BAD_INPUT = "UDAPI100038"
TICK_SIZE = "UDAPI1101"
LOT_SIZE = "UDAPI1102"
FREEZE_QTY = "UDAPI1103"
PRICE_BAND = "UDAPI1104"
NOT_FOUND = "UDAPI100060"
NOT_MODIFIABLE = "UDAPI100040"
MAX_SLICES = 25
# market_protection (UPSTOX.md 6.1): 0 none, 0-25 a percentage, -1 automatic. What
# "automatic" resolves to is not documented: the simulator's choice is below.
MAX_PROTECTION = 25.0
AUTO_PROTECTION = 3.0  # percent, equities and futures
AUTO_PROTECTION_OPTIONS = 10.0  # percent, options


def _reject(code: str, message: str, path: str | None = None, value: Any = None) -> SimApiError:
    return SimApiError(400, code, message, path, value)


def _protection(value: Any) -> float:
    """``market_protection`` as sent (absent or null = 0); a non-number is bad input."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _reject(BAD_INPUT, "market_protection must be a number", "market_protection", value)
    try:
        out = float(value)
    except ValueError as exc:
        raise _reject(
            BAD_INPUT, "market_protection must be a number", "market_protection", value
        ) from exc
    if out != out:  # NaN
        raise _reject(BAD_INPUT, "market_protection must be a number", "market_protection", value)
    return out


class OrderEngine:
    """All orders and fills of the simulator's users."""

    def __init__(self, market: Market, on_update: Callable[[SimOrder], None] | None = None) -> None:
        self.market = market
        self.on_update = on_update
        self.on_fill: Callable[[SimOrder, SimFill], None] | None = None
        self.orders: dict[str, SimOrder] = {}
        self.fills: list[SimFill] = []
        self._seq = itertools.count(1)
        self._trade_seq = itertools.count(1)
        self._taken: dict[tuple[int, int], tuple[int, int]] = {}

    # ---- validation ----------------------------------------------------------------
    def _validate(self, o: SimOrder, slice_ok: bool = False) -> None:
        m, u = self.market, self.market.u
        if o.quantity <= 0:
            raise _reject(BAD_INPUT, "Quantity must be positive", "quantity", o.quantity)
        lot = int(u.lot[o.row])
        if o.quantity % lot:
            raise _reject(
                LOT_SIZE, f"Quantity should be a multiple of lot size {lot}", "quantity", o.quantity
            )
        if o.quantity > int(u.freeze[o.row]) and not slice_ok:
            raise _reject(
                FREEZE_QTY,
                f"Quantity exceeds freeze limit {int(u.freeze[o.row])}",
                "quantity",
                o.quantity,
            )
        if o.order_type in ("MARKET", "SL-M") and o.price != 0:
            raise _reject(PRICE_NOT_REQUIRED, "Price not required", "price", o.price / 100)
        tick = int(m.tick[o.row])
        for name, value in (("price", o.price), ("trigger_price", o.trigger_price)):
            if value % tick:
                raise _reject(
                    TICK_SIZE,
                    f"{name} should be a multiple of tick size {tick / 100:.2f}",
                    name,
                    value / 100,
                )
        if o.order_type in ("LIMIT", "SL") and o.price <= 0:
            raise _reject(BAD_INPUT, "Price is required", "price", 0)
        if o.order_type in ("SL", "SL-M") and o.trigger_price <= 0:
            raise _reject(BAD_INPUT, "Trigger price is required", "trigger_price", 0)
        if o.order_type == "SL" and (o.price - o.trigger_price) * o.side < 0:
            raise _reject(
                BAD_INPUT,
                "Trigger price must not be worse than the limit price "
                "(buy: trigger <= price, sell: trigger >= price)",
                "trigger_price",
                o.trigger_price / 100,
            )
        self._validate_protection_and_band(o)
        if m.is_index[o.row]:
            raise _reject(
                BAD_INPUT, "Indices are not tradable", "instrument_token", o.instrument_key
            )
        if m.phase != Phase.NORMAL_OPEN and not o.is_amo:
            raise SimApiError(400, MARKET_CLOSED, "Market is closed")

    def _validate_protection_and_band(self, o: SimOrder) -> None:
        """``market_protection`` in range and only on MARKET / SL-M; prices in the circuit."""
        m = self.market
        mp = o.market_protection
        if mp != -1 and not 0 <= mp <= MAX_PROTECTION:
            raise _reject(
                BAD_INPUT,
                f"market_protection must be -1 (automatic) or between 0 and "
                f"{MAX_PROTECTION:g} (percent)",
                "market_protection",
                mp,
            )
        if mp and o.order_type not in ("MARKET", "SL-M"):
            raise _reject(
                BAD_INPUT,
                "market_protection is allowed only for MARKET and SL-M orders",
                "market_protection",
                mp,
            )
        lo, hi = int(m.circuit_lo[o.row]), int(m.circuit_hi[o.row])
        if hi > 0:
            for name, value in (("price", o.price), ("trigger_price", o.trigger_price)):
                if value and not lo <= value <= hi:
                    raise _reject(
                        PRICE_BAND,
                        f"{name} {value / 100:.2f} is outside the circuit limits "
                        f"{lo / 100:.2f} - {hi / 100:.2f}",
                        name,
                        value / 100,
                    )

    # ---- commands ------------------------------------------------------------------
    def place(self, user_id: str, body: dict[str, Any], algo_name: str | None = None) -> list[str]:
        """Validate and accept an order (sliced at the freeze quantity if asked).

        ``algo_name`` is the request's ``X-Algo-Name`` header, recorded on each order.
        """
        key = str(body.get("instrument_token") or "")
        row = self.market.u.index_of.get(key)
        if row is None:
            raise _reject(BAD_INPUT, "Invalid instrument_token", "instrument_token", key)
        side = {"BUY": 1, "SELL": -1}.get(str(body.get("transaction_type")))
        otype = str(body.get("order_type"))
        validity = str(body.get("validity") or "DAY")
        if (
            side is None
            or otype not in ("MARKET", "LIMIT", "SL", "SL-M")
            or validity not in ("DAY", "IOC")
        ):
            raise _reject(BAD_INPUT, "Invalid transaction_type, order_type or validity")
        tag = body.get("tag")
        if tag is not None and len(str(tag)) > 40:
            raise _reject("UDAPI1119", "Tag length exceeds 40", "tag", tag)
        template = SimOrder(
            order_id="",
            user_id=user_id,
            row=row,
            instrument_key=key,
            trading_symbol=str(self.market.u.rows[row]["trading_symbol"]),
            exchange=key.split("_")[0]
            if not key.startswith(("NSE_FO", "BSE_FO"))
            else ("NFO" if key.startswith("NSE") else "BFO"),
            product=str(body.get("product") or "D"),
            validity=validity,
            order_type=otype,
            side=side,
            quantity=int(body.get("quantity") or 0),
            price=to_paise(float(body.get("price") or 0)),
            trigger_price=to_paise(float(body.get("trigger_price") or 0)),
            disclosed_quantity=int(body.get("disclosed_quantity") or 0),
            tag=None if tag is None else str(tag),
            is_amo=bool(body.get("is_amo")),
            placed_ns=self.market.now_ns(),
            market_protection=_protection(body.get("market_protection")),
            algo_name=algo_name or None,
        )
        slice_ok = bool(body.get("slice"))
        self._validate(template, slice_ok)
        freeze = int(self.market.u.freeze[row])
        sizes = [template.quantity]
        if slice_ok and template.quantity > freeze:
            full, rest = divmod(template.quantity, freeze)
            sizes = [freeze] * full + ([rest] if rest else [])
            if len(sizes) > MAX_SLICES:
                raise _reject(
                    FREEZE_QTY,
                    f"Order would need more than {MAX_SLICES} slices",
                    "quantity",
                    template.quantity,
                )
        ids = []
        for qty in sizes:
            day = ns_to_datetime(template.placed_ns, IST).strftime("%y%m%d")
            o = replace(template, order_id=f"{day}{next(self._seq):09d}", quantity=qty, history=[])
            self.orders[o.order_id] = o
            self._set(o, st.RECEIVED)
            self._set(
                o,
                st.AMO_RECEIVED
                if (o.is_amo and self.market.phase != Phase.NORMAL_OPEN)
                else (st.TRIGGER_PENDING if o.order_type in ("SL", "SL-M") else st.OPEN),
            )
            self._work(o)
            ids.append(o.order_id)
        return ids

    def modify(self, user_id: str, body: dict[str, Any]) -> str:
        o = self._own(user_id, str(body.get("order_id") or ""))
        if o.status not in st.LIVE:
            raise _reject(NOT_MODIFIABLE, f"Order is {o.status} and cannot be modified")
        changed = replace(o, history=[])
        if body.get("quantity") is not None:
            changed.quantity = int(body["quantity"])
        for name in ("price", "trigger_price"):
            if body.get(name) is not None:
                setattr(changed, name, to_paise(float(body[name])))
        for name in ("order_type", "validity"):
            if body.get(name):
                setattr(changed, name, str(body[name]))
        if body.get("market_protection") is not None:
            changed.market_protection = _protection(body["market_protection"])
        elif changed.order_type not in ("MARKET", "SL-M"):
            changed.market_protection = 0.0
        changed.protection_price = 0
        if changed.quantity < o.filled:
            raise _reject(BAD_INPUT, "Quantity below filled quantity", "quantity")
        self._validate(changed)
        for name in (
            "quantity",
            "price",
            "trigger_price",
            "order_type",
            "validity",
            "market_protection",
            "protection_price",
        ):
            setattr(o, name, getattr(changed, name))
        self._set(o, "modified")
        self._set(
            o,
            st.TRIGGER_PENDING if (o.order_type in ("SL", "SL-M") and not o.triggered) else st.OPEN,
        )
        self._work(o)
        return o.order_id

    def cancel(self, user_id: str, order_id: str) -> str:
        o = self._own(user_id, order_id)
        if o.status not in st.LIVE:
            raise _reject(NOT_MODIFIABLE, f"Order is {o.status} and cannot be cancelled")
        self._set(o, st.CANCELLED)
        return o.order_id

    def cancel_all(
        self, user_id: str, tag: str | None = None, segment: str | None = None
    ) -> list[str]:
        """Cancel every live order of the user (optionally one tag / segment)."""
        out = []
        for o in self.orders.values():
            if o.user_id != user_id or o.status not in st.LIVE:
                continue
            if (tag and o.tag != tag) or (segment and not o.instrument_key.startswith(segment)):
                continue
            self._set(o, st.CANCELLED)
            out.append(o.order_id)
        return out

    def net_positions(self, user_id: str) -> dict[tuple[str, str], int]:
        """Net filled quantity per (instrument_key, product) of the user's day."""
        net: dict[tuple[str, str], int] = {}
        for f in self.fills:
            o = self.orders[f.order_id]
            if o.user_id == user_id:
                k = (o.instrument_key, o.product)
                net[k] = net.get(k, 0) + o.side * f.qty
        return net

    def _own(self, user_id: str, order_id: str) -> SimOrder:
        o = self.orders.get(order_id)
        if o is None or o.user_id != user_id:
            raise SimApiError(
                404 if o is None else 403, NOT_FOUND, "Order not found", "order_id", order_id
            )
        return o

    # ---- matching ------------------------------------------------------------------
    def on_step(self) -> None:
        """Retry resting orders after a market step (triggers, DAY remainders, AMO)."""
        if self.market.phase != Phase.NORMAL_OPEN:
            return
        for o in list(self.orders.values()):
            if o.status == st.AMO_RECEIVED:
                self._set(o, st.TRIGGER_PENDING if o.order_type in ("SL", "SL-M") else st.OPEN)
            if o.status in (st.OPEN, st.TRIGGER_PENDING):
                self._work(o)

    def _work(self, o: SimOrder) -> None:
        m = self.market
        if o.status not in (st.OPEN, st.TRIGGER_PENDING) or m.phase != Phase.NORMAL_OPEN:
            return
        if o.status == st.TRIGGER_PENDING:
            ltp = int(m.ltp[o.row])
            if (o.side > 0 and ltp < o.trigger_price) or (o.side < 0 and ltp > o.trigger_price):
                return
            o.triggered = True
            self._set(o, st.OPEN)
        limit = self._market_limit(o) if o.order_type in ("MARKET", "SL-M") else o.price
        book = m.book(np.asarray([o.row], dtype=np.int64))
        prices = (book.ask_price if o.side > 0 else book.bid_price)[0].tolist()
        qtys = (book.ask_qty if o.side > 0 else book.bid_qty)[0].tolist()
        step, prior = self._taken.get((o.row, o.side), (m.step_no, 0))
        taken = prior if step == m.step_no else 0
        skip_left, took = taken, 0
        for price, qty in zip(prices, qtys, strict=True):
            if o.pending == 0 or (limit is not None and (price - limit) * o.side > 0):
                break
            skip = min(skip_left, qty)
            skip_left -= skip
            take = min(qty - skip, o.pending)
            if take > 0:
                self._fill(o, price, take)
                took += take
        self._taken[(o.row, o.side)] = (m.step_no, taken + took)
        if o.pending == 0:
            self._set(o, st.COMPLETE)
        elif o.validity == "IOC":
            self._set(o, st.CANCELLED, "IOC order cancelled: remaining quantity not matched")

    def _market_limit(self, o: SimOrder) -> int | None:
        """The worst price a MARKET / SL-M order may fill at now (None = any).

        Protection is priced once, from the LTP when the order first works (MARKET: at
        placement; SL-M: at its trigger), and never beyond the circuit limits.
        """
        m = self.market
        lo, hi = int(m.circuit_lo[o.row]), int(m.circuit_hi[o.row])
        if o.market_protection and not o.protection_price:
            pct = o.market_protection
            if pct == -1:
                pct = AUTO_PROTECTION_OPTIONS if m.is_opt[o.row] else AUTO_PROTECTION
            ltp, tick = int(m.ltp[o.row]), int(m.tick[o.row])
            width = max(int(ltp * pct / 100), tick)  # at least one tick of room
            raw = ltp + o.side * width
            price = (raw // tick) * tick if o.side > 0 else -(-raw // tick) * tick
            if hi > 0:
                price = min(max(price, lo), hi)
            o.protection_price = max(price, tick)
        if o.protection_price:
            return o.protection_price
        if hi > 0:
            return hi if o.side > 0 else lo
        return None

    def _fill(self, o: SimOrder, price: int, qty: int) -> None:
        now = self.market.now_ns()
        fill = SimFill(f"T{next(self._trade_seq):08d}", o.order_id, price, qty, now)
        self.fills.append(fill)
        o.filled += qty
        o.value += price * qty
        o.updated_ns = now
        if self.on_fill is not None:
            self.on_fill(o, fill)
        if o.pending:
            self._set(o, st.OPEN)

    def _set(self, o: SimOrder, status: str, message: str | None = None) -> None:
        o.status = status
        o.status_message = message
        o.updated_ns = self.market.now_ns()
        o.history.append(st.order_json(o))
        if status == "modified":
            return
        if self.on_update is not None:
            self.on_update(o)
