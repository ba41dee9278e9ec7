"""The Fraction-based charges engine, kept only as the reference of a differential test.

This is ``quant.trading.charges.DayCharges`` as it was before it moved to integer
arithmetic (commit 47acc8b): every levy an exact :class:`fractions.Fraction` of paise,
straight from the rate table's ``Fraction`` rates (``levy_rate``), rounded with
``floor(x / unit + 1/2)``, and the contract note re-rounded from its exact sums on each
fill. ``test_trading_charges_differential.py`` checks that the integer engine gives the
same charges, fill by fill, to the paisa.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from quant.core.orders import Side
from quant.trading.charges import ChargeBreakdown, ChargesError, Fill, market_for
from quant.trading.charges_rates import UPSTOX, Levy, Market, Tariff, brokerage_rule, levy_rate

_EXCHANGE = {"NSE_EQ": "NSE", "BSE_EQ": "BSE", "NSE_FO": "NSE", "BSE_FO": "BSE"}


def _validate(fill: Fill) -> None:
    if not isinstance(fill.side, Side):
        raise ChargesError(f"side must be BUY or SELL, got {fill.side!r}")
    for name in ("quantity", "price_paise"):
        value = getattr(fill, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ChargesError(f"{name} must be a positive whole number, got {value!r}")
    if not fill.instrument_key or not fill.order_id:
        raise ChargesError("a fill needs its instrument_key and order_id")


def _half_up(amount: Fraction, unit: int = 1) -> int:
    return math.floor(amount / unit + Fraction(1, 2)) * unit


@dataclass(slots=True)
class _Note:
    exchange: str
    gst_rate: Fraction
    brokerage: dict[str, Fraction] = field(default_factory=dict)
    brokerage_total: Fraction = Fraction(0)
    stt: dict[str, Fraction] = field(default_factory=dict)
    levies: dict[Levy, Fraction] = field(default_factory=dict)
    dp_scrips: set[str] = field(default_factory=set)

    def rounded(self, tariff: Tariff) -> ChargeBreakdown:
        def levy(name: Levy) -> int:
            return _half_up(self.levies.get(name, Fraction(0)))

        brokerage = _half_up(self.brokerage_total)
        stt = sum(_half_up(v, 100) for v in self.stt.values())
        exchange, ipft, sebi = levy(Levy.EXCHANGE), levy(Levy.IPFT), levy(Levy.SEBI)
        stamp = _half_up(
            self.levies.get(Levy.STAMP, Fraction(0)), 100 if tariff.stamp_to_rupee else 1
        )
        dp = tariff.dp_paise * len(self.dp_scrips)
        base = brokerage + exchange + dp
        base += sebi if tariff.gst_on_sebi else 0
        base += ipft if tariff.gst_on_ipft else 0
        gst = _half_up(base * self.gst_rate)
        return ChargeBreakdown(brokerage, stt, exchange, ipft, sebi, stamp, gst, dp)


@dataclass(slots=True)
class _Order:
    market: Market
    side: Side
    value_paise: int = 0
    charges: ChargeBreakdown = field(default_factory=ChargeBreakdown)


class ReferenceDayCharges:
    """The old ``DayCharges``: same interface, exact ``Fraction`` arithmetic."""

    def __init__(self, trade_date: date, tariff: Tariff = UPSTOX, *, charge_dp: bool = True):
        self.trade_date = trade_date
        self.tariff = tariff
        self.charge_dp = charge_dp
        self._notes: dict[str, _Note] = {}
        self._orders: dict[str, _Order] = {}

    def add(self, fill: Fill) -> ChargeBreakdown:
        _validate(fill)
        if fill.trade_date != self.trade_date:
            raise ChargesError(
                f"fill of {fill.trade_date} added to the charges of {self.trade_date}"
            )
        market = market_for(fill.segment, fill.instrument_type, fill.product)
        exchange = _EXCHANGE[fill.segment]
        side = fill.side.name
        value = fill.quantity * fill.price_paise
        rates = {
            levy: levy_rate(levy, exchange, market, side, self.trade_date, fill.rate_class)
            for levy in (Levy.STT, Levy.EXCHANGE, Levy.IPFT, Levy.SEBI, Levy.STAMP)
        }
        rule = brokerage_rule(self.tariff, market, self.trade_date)
        order = self._orders.get(fill.order_id)
        if order is not None and (order.market, order.side) != (market, fill.side):
            raise ChargesError(
                f"order {fill.order_id} was {order.side.name} {order.market}; "
                f"a fill of it cannot be {side} {market}"
            )
        note = self._notes.get(fill.segment)
        if note is None:
            gst_rate = levy_rate(Levy.GST, exchange, market, side, self.trade_date)
            note = self._notes[fill.segment] = _Note(exchange, gst_rate)
        before = note.rounded(self.tariff)

        if order is None:
            order = self._orders[fill.order_id] = _Order(market, fill.side)
        order.value_paise += value
        brokerage = Fraction(rule.cap_paise)
        if rule.rate is not None:
            brokerage = min(brokerage, rule.rate * order.value_paise)
        note.brokerage_total += brokerage - note.brokerage.get(fill.order_id, Fraction(0))
        note.brokerage[fill.order_id] = brokerage
        key = fill.instrument_key
        note.stt[key] = note.stt.get(key, Fraction(0)) + value * rates[Levy.STT]
        for levy in (Levy.EXCHANGE, Levy.IPFT, Levy.SEBI, Levy.STAMP):
            note.levies[levy] = note.levies.get(levy, Fraction(0)) + value * rates[levy]
        if self.charge_dp and market is Market.EQUITY_DELIVERY and fill.side is Side.SELL:
            note.dp_scrips.add(key)

        added = note.rounded(self.tariff) - before
        order.charges = order.charges + added
        return added

    def for_order(self, order_id: str) -> ChargeBreakdown:
        order = self._orders.get(order_id)
        return order.charges if order is not None else ChargeBreakdown()

    def total(self) -> ChargeBreakdown:
        total = ChargeBreakdown()
        for note in self._notes.values():
            total = total + note.rounded(self.tariff)
        return total
