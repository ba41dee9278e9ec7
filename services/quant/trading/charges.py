"""Indian per-trade charges for fills, in integer paise (pure: no I/O, no clock, no floats).

Called by the execution service (charges on each fill, per order and per day) and by the
simulator's ``GET /v2/charges/brokerage`` (one prospective order). Rates come from the one
table in :mod:`quant.trading.charges_rates`; the facts and their sources are in
``shared/CHARGES.md``.

Components (CHARGES.md §1-4): brokerage (per executed order, from the broker's
:class:`~quant.trading.charges_rates.Tariff`), STT (by market and side), exchange
transaction charge (NSE/BSE, each side), NSE IPFT (each side), SEBI turnover fee (each
side), stamp duty (buy side), DP charge (delivery sells, once per scrip per day) and GST
(18 % of brokerage + exchange charge + SEBI fee + DP, and IPFT where the tariff says so).
Option levies are on the premium (price x quantity). Not modelled: STT on exercised
options and on physically settled stock F&O, the auto square-off / call-and-trade
surcharge, MTF, currency and commodity segments (CTT) -- CHARGES.md lacks some of their
rates, and a fill in an unsupported segment or product is refused, never priced at 0.

Rounding (CHARGES.md §5, "practical rule for matching to the paisa"):

1. Each fill's levies are computed exactly, as rational paise.
2. They are rounded on the contract note: per trading day and exchange segment (NSE_EQ,
   NSE_FO, BSE_EQ, BSE_FO), each component's exact day sum is rounded half-up to the paisa;
   STT half-up to the rupee per security per day (the exchange's level, §2), then summed;
   stamp duty to the paisa (Upstox) or the rupee (the Zerodha calculator).
3. Brokerage is per executed order: ``min(cap, rate x order value)`` on the order's
   cumulative filled value, so an order filled in several trades pays it once; each child
   of a sliced order is its own order. The day sum of order brokerages is rounded as in 2.
4. GST = 18 % x (rounded brokerage + exchange + SEBI + DP [+ IPFT]) rounded half-up to the
   paisa. The total is the sum of the rounded components.
   UNCONFIRMED (CHARGES.md §8.6, §8.11): Upstox does not document the STT rounding level
   and its calculator's rounding was not observable; the §7 examples are computed, not
   copied. The Zerodha calculator's figures (§6A) are matched with the same rules.
5. A fill's charges (:meth:`DayCharges.add`) are what it adds to the day's contract note:
   rounded(cumulative with it) - rounded(cumulative before it). Each is >= 0, and a day's
   or an order's fills add up to the note to the paisa.

:func:`charges_for_fill` prices one fill as a one-order, one-fill contract note; that is
what the brokerage endpoint quotes (its inputs mirror the endpoint's query parameters:
``instrument_token`` -> segment (and the instrument master's type), ``quantity``,
``product``, ``transaction_type`` -> side, ``price`` -> paise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction

from quant.core.instruments import Instrument, InstrumentType
from quant.core.money import paise_to_decimal
from quant.core.orders import Side
from quant.trading.charges_rates import (
    UPSTOX,
    Levy,
    Market,
    RateNotFoundError,
    Tariff,
    brokerage_rule,
    levy_rate,
)

__all__ = [
    "ChargeBreakdown",
    "ChargesError",
    "DayCharges",
    "Fill",
    "RateNotFoundError",
    "charges_for_fill",
    "market_for",
    "rate_class_for",
    "upstox_charges_payload",
]

# segment -> (exchange, is the cash market)
_SEGMENTS: dict[str, tuple[str, bool]] = {
    "NSE_EQ": ("NSE", True),
    "BSE_EQ": ("BSE", True),
    "NSE_FO": ("NSE", False),
    "BSE_FO": ("BSE", False),
}
_PRODUCTS = ("I", "D")


class ChargesError(ValueError):
    """A fill the charges cannot be computed for (bad input or an untabulated market)."""


@dataclass(frozen=True, slots=True)
class ChargeBreakdown:
    """Charges in paise, one field per component; ``total`` is their sum."""

    brokerage: int = 0
    stt: int = 0
    exchange: int = 0
    ipft: int = 0
    sebi: int = 0
    stamp: int = 0
    gst: int = 0
    dp: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def __add__(self, other: ChargeBreakdown) -> ChargeBreakdown:
        return ChargeBreakdown(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )

    def __sub__(self, other: ChargeBreakdown) -> ChargeBreakdown:
        return ChargeBreakdown(
            *(getattr(self, f.name) - getattr(other, f.name) for f in fields(self))
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, as the charges need it.

    ``instrument_key`` keys STT rounding and the DP charge (per security per day);
    ``order_id`` keys brokerage (per executed order). ``rate_class`` is the BSE scrip
    group (cash) or ``SENSEX``/``BANKEX``/``SENSEX50``/``STOCK`` (BSE options).
    """

    instrument_key: str
    instrument_type: InstrumentType
    product: str
    side: Side
    quantity: int
    price_paise: int
    trade_date: date
    order_id: str
    rate_class: str = ""

    @property
    def segment(self) -> str:
        return self.instrument_key.split("|", 1)[0]


def market_for(segment: str, instrument_type: InstrumentType, product: str) -> Market:
    """Which rates apply: cash delivery/intraday by product, F&O by instrument type."""
    if segment not in _SEGMENTS:
        raise ChargesError(
            f"charges for segment {segment!r} are not tabulated; supported: "
            f"{', '.join(_SEGMENTS)} (CHARGES.md has no CTT or commodity/currency table)"
        )
    if product not in _PRODUCTS:
        raise ChargesError(f"product {product!r} is not priced; expected I or D")
    _, cash = _SEGMENTS[segment]
    if cash:
        if instrument_type is not InstrumentType.EQUITY:
            raise ChargesError(f"{segment} trades equities, not {instrument_type}")
        return Market.EQUITY_DELIVERY if product == "D" else Market.EQUITY_INTRADAY
    if instrument_type is InstrumentType.FUTURE:
        return Market.FUTURES
    if instrument_type in (InstrumentType.CALL, InstrumentType.PUT):
        return Market.OPTIONS
    raise ChargesError(f"{segment} trades futures and options, not {instrument_type}")


def rate_class_for(instrument: Instrument) -> str:
    """The ``rate_class`` of an instrument-master row (BSE options by index, else "").

    BSE cash is charged by scrip group, which the master does not carry: "" (groups A/B,
    unconfirmed). BSE options: SENSEX, BANKEX, SENSEX50 by underlying, else STOCK.
    """
    if instrument.segment != "BSE_FO" or not instrument.is_option:
        return ""
    underlying = instrument.underlying_symbol.upper()
    return underlying if underlying in ("SENSEX", "BANKEX", "SENSEX50") else "STOCK"


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
    """Round a non-negative paise amount half-up to a multiple of ``unit`` paise."""
    return math.floor(amount / unit + Fraction(1, 2)) * unit


@dataclass(slots=True)
class _Note:
    """Exact running sums of one exchange segment's day (one contract note)."""

    exchange: str
    gst_rate: Fraction
    brokerage: dict[str, Fraction] = field(default_factory=dict)  # per order
    #: the sum of ``brokerage``, kept as orders change (not re-added per fill: a day has
    #: up to hundreds of thousands of orders)
    brokerage_total: Fraction = Fraction(0)
    stt: dict[str, Fraction] = field(default_factory=dict)  # per security
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


class DayCharges:
    """The charges of one account's trading day: per fill, per order and per contract note.

    Feed it every fill of the day with :meth:`add` (it returns what that fill adds); read
    :meth:`for_order` and :meth:`total`. ``charge_dp=False`` leaves the DP charge out, as
    the brokerage endpoint does (it reports DP apart, in ``dp_plan``).
    """

    def __init__(self, trade_date: date, tariff: Tariff = UPSTOX, *, charge_dp: bool = True):
        self.trade_date = trade_date
        self.tariff = tariff
        self.charge_dp = charge_dp
        self._notes: dict[str, _Note] = {}
        self._orders: dict[str, _Order] = {}

    def add(self, fill: Fill) -> ChargeBreakdown:
        """Record ``fill``; return the charges it adds to the day (components >= 0)."""
        _validate(fill)
        if fill.trade_date != self.trade_date:
            raise ChargesError(
                f"fill of {fill.trade_date} added to the charges of {self.trade_date}"
            )
        market = market_for(fill.segment, fill.instrument_type, fill.product)
        exchange, _ = _SEGMENTS[fill.segment]
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
        """The charges of one order's fills so far (zero if it has none)."""
        order = self._orders.get(order_id)
        return order.charges if order is not None else ChargeBreakdown()

    def total(self) -> ChargeBreakdown:
        """The day's charges: the sum of its contract notes."""
        total = ChargeBreakdown()
        for note in self._notes.values():
            total = total + note.rounded(self.tariff)
        return total


def charges_for_fill(
    segment: str,
    instrument_type: InstrumentType,
    product: str,
    side: Side,
    quantity: int,
    price_paise: int,
    trade_date: date,
    *,
    rate_class: str = "",
    tariff: Tariff = UPSTOX,
    include_dp: bool = False,
) -> ChargeBreakdown:
    """Charges of one fill that is a whole order and the day's only trade in it.

    This is the brokerage endpoint's quote. ``include_dp`` adds the DP charge (and its
    GST) of a delivery sell, which the endpoint reports apart.
    """
    day = DayCharges(trade_date, tariff, charge_dp=include_dp)
    fill = Fill(
        f"{segment}|fill",
        instrument_type,
        product,
        side,
        quantity,
        price_paise,
        trade_date,
        "order",
        rate_class,
    )
    return day.add(fill)


def upstox_charges_payload(charges: ChargeBreakdown, tariff: Tariff = UPSTOX) -> dict[str, object]:
    """``data.charges`` of Upstox's ``GET /v2/charges/brokerage`` answer, rupees as Decimal.

    As in Upstox's sample, DP is not in the charges (pass them computed without it, as
    :func:`charges_for_fill` does by default); it is reported as ``dp_plan.min_expense``.
    """
    if charges.dp:
        raise ChargesError("the brokerage endpoint reports DP apart: price the fill without it")

    def rupees(paise: int) -> Decimal:
        return paise_to_decimal(paise)

    return {
        "total": rupees(charges.total),
        "brokerage": rupees(charges.brokerage),
        "taxes": {
            "gst": rupees(charges.gst),
            "stt": rupees(charges.stt),
            "stamp_duty": rupees(charges.stamp),
        },
        "other_taxes": {
            "transaction": rupees(charges.exchange),
            "clearing": rupees(0),
            "ipft": rupees(charges.ipft),
            "sebi_turnover": rupees(charges.sebi),
        },
        "dp_plan": {"name": tariff.dp_plan, "min_expense": rupees(tariff.dp_paise)},
    }
