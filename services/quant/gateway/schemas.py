"""Response models of the market endpoints and the pure functions that render them.

Prices leave the platform as decimal strings in rupees built from integer paise
(``123456`` -> ``"1234.56"``), never through a float. Derived statistics (VWAP,
microprice) are float paise inside the engine and are rendered as rupee strings
rounded to 4 decimals. NaN greeks render as ``null``. Called by the market routers.

The trading models (orders, trades, positions, P&L, kill switch) document the JSON the
execution service answers (``quant.execution.views``), which the trading router passes on
after checking it against them, and the bodies it accepts.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from quant.core.clock import IST, ns_to_datetime
from quant.core.events import EnrichedTick, OptionGreeks, Tick
from quant.core.freshness import DEFAULT_STALE_AFTER_S, age_seconds, is_stale
from quant.core.instruments import Instrument
from quant.core.money import paise_to_str
from quant.gateway.settings import MarketSource

_FOUR = Decimal("0.0001")

# Trading symbols, index names and instrument keys: letters, digits, space, & - . | : _
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 &\-.|:_]{0,79}$"


def rupees_from_float_paise(value: float) -> str | None:
    """A float paise statistic as a rupee string with 4 decimals (None for NaN/inf)."""
    if not math.isfinite(value):
        return None
    return str((Decimal(repr(value)) / 100).quantize(_FOUR, rounding=ROUND_HALF_EVEN))


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def iso_ist(ns: int) -> str:
    return ns_to_datetime(ns, IST).isoformat()


class InstrumentOut(BaseModel):
    instrument_key: str
    trading_symbol: str
    name: str
    exchange: str
    segment: str
    instrument_type: str
    lot_size: int
    tick_size: str
    freeze_quantity: int
    expiry: date | None = None
    strike: str | None = None
    underlying_key: str = ""

    @classmethod
    def of(cls, inst: Instrument) -> InstrumentOut:
        return cls(
            instrument_key=inst.instrument_key,
            trading_symbol=inst.trading_symbol,
            name=inst.name,
            exchange=inst.exchange,
            segment=inst.segment,
            instrument_type=inst.instrument_type.value,
            lot_size=inst.lot_size,
            tick_size=paise_to_str(inst.tick_size_paise),
            freeze_quantity=inst.freeze_quantity,
            expiry=inst.expiry,
            strike=None if inst.strike_paise is None else paise_to_str(inst.strike_paise),
            underlying_key=inst.underlying_key,
        )


class OhlcOut(BaseModel):
    open: str
    high: str
    low: str
    close: str


class DepthOut(BaseModel):
    bid_price: str
    bid_quantity: int
    ask_price: str
    ask_quantity: int


class QuoteOut(BaseModel):
    instrument_key: str
    trading_symbol: str
    last_price: str
    close_price: str
    change: str
    change_percent: str | None
    ohlc: OhlcOut | None
    volume: int
    oi: int
    depth: list[DepthOut]
    vwap: str | None
    imbalance: float | None
    spread: str | None
    spread_bps: float | None
    as_of: str
    as_of_ns: int
    source: MarketSource = Field(description="where the data comes from: sim or upstox")
    age_s: float = Field(description="seconds from the exchange time (as_of) to now")
    stale: bool = Field(description="older than the gateway's stale_after_s (default 5 s)")


def render_quote(
    inst: Instrument,
    tick: Tick,
    enriched: EnrichedTick | None,
    *,
    source: MarketSource,
    now_ns: int,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
) -> QuoteOut:
    """The quote body for ``inst`` from its latest tick (and enriched tick, if any), from
    ``source`` (``sim`` or ``upstox``), aged by exchange time at ``now_ns``."""
    change = tick.ltp - tick.close_price
    pct = None
    if tick.close_price:
        pct = str((Decimal(change) * 100 / Decimal(tick.close_price)).quantize(Decimal("0.01")))
    day = next((o for o in tick.ohlc if o.interval == "1d"), None)
    ohlc = None
    if day is not None:
        ohlc = OhlcOut(
            open=paise_to_str(day.open),
            high=paise_to_str(day.high),
            low=paise_to_str(day.low),
            close=paise_to_str(day.close),
        )
    depth = [
        DepthOut(
            bid_price=paise_to_str(d.bid_price),
            bid_quantity=d.bid_quantity,
            ask_price=paise_to_str(d.ask_price),
            ask_quantity=d.ask_quantity,
        )
        for d in tick.depth
    ]
    vwap: str | None = paise_to_str(tick.atp) if tick.atp else None
    imbalance = spread_bps = None
    spread: str | None = None
    if tick.depth:
        best = tick.depth[0]
        if best.bid_price and best.ask_price:
            spread = paise_to_str(best.ask_price - best.bid_price)
    if enriched is not None:
        vwap = rupees_from_float_paise(enriched.session_vwap) or vwap
        imbalance = finite(enriched.imbalance_l1)
        spread = paise_to_str(enriched.spread) if enriched.spread else spread
        spread_bps = finite(enriched.spread_bps)
    as_of = max(tick.ts_event, enriched.ts_event if enriched else 0)
    return QuoteOut(
        instrument_key=inst.instrument_key,
        trading_symbol=inst.trading_symbol,
        last_price=paise_to_str(tick.ltp),
        close_price=paise_to_str(tick.close_price),
        change=paise_to_str(change),
        change_percent=pct,
        ohlc=ohlc,
        volume=tick.volume,
        oi=tick.oi,
        depth=depth,
        vwap=vwap,
        imbalance=imbalance,
        spread=spread,
        spread_bps=spread_bps,
        as_of=iso_ist(as_of),
        as_of_ns=as_of,
        source=source,
        age_s=round(age_seconds(as_of, now_ns), 3),
        stale=is_stale(as_of, now_ns, stale_after_s),
    )


class GreeksOut(BaseModel):
    iv: float | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None


class OptionGreeksOut(BaseModel):
    instrument_key: str
    trading_symbol: str
    option_type: str
    strike: str | None
    expiry: date | None
    underlying_key: str
    last_price: str | None
    oi: int | None
    upstox: GreeksOut | None
    ours: GreeksOut | None
    as_of: str | None


class ChainOut(BaseModel):
    underlying_key: str
    trading_symbol: str
    spot: str | None
    expiry: date | None
    options: list[OptionGreeksOut]


def render_option(
    inst: Instrument, upstox: OptionGreeks | None, ours: EnrichedTick | None
) -> OptionGreeksOut:
    theirs = None
    if upstox is not None:
        theirs = GreeksOut(
            iv=finite(upstox.iv),
            delta=finite(upstox.delta),
            gamma=finite(upstox.gamma),
            theta=finite(upstox.theta),
            vega=finite(upstox.vega),
        )
    mine = None
    if ours is not None:
        mine = GreeksOut(
            iv=finite(ours.iv),
            delta=finite(ours.delta),
            gamma=finite(ours.gamma),
            theta=finite(ours.theta),
            vega=finite(ours.vega),
        )
    ltp = upstox.ltp if upstox is not None else (ours.ltp if ours is not None else None)
    ts = max(upstox.ts_event if upstox else 0, ours.ts_event if ours else 0)
    return OptionGreeksOut(
        instrument_key=inst.instrument_key,
        trading_symbol=inst.trading_symbol,
        option_type=inst.instrument_type.value,
        strike=None if inst.strike_paise is None else paise_to_str(inst.strike_paise),
        expiry=inst.expiry,
        underlying_key=inst.underlying_key,
        last_price=None if ltp is None else paise_to_str(ltp),
        oi=upstox.oi if upstox is not None else None,
        upstox=theirs,
        ours=mine,
        as_of=iso_ist(ts) if ts else None,
    )


# --- trading (forwarded to the execution service; the JSON of quant.execution.views) ------

OrderSide = Literal["BUY", "SELL"]
OrderTypeName = Literal["MARKET", "LIMIT", "SL", "SL-M"]
ProductCode = Literal["I", "D"]
ValidityName = Literal["DAY", "IOC"]
StateName = Literal["ACTIVE", "REDUCING", "HALTED"]
#: a price in rupees as sent by a client: up to 2 decimals, no sign, no exponent
PRICE_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,2})?$"
#: strategy names, as the trading domain takes them (quant.trading.intent)
STRATEGY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: client order ids (quant.trading.client_ids: e.g. orb-261207-42)
CLIENT_ORDER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
_MONEY = "rupees, a decimal string with 2 places"


class OrderOut(BaseModel):
    """One order as the execution service holds it."""

    client_order_id: str = Field(description="the platform's id (also the Upstox tag)")
    broker_order_id: str = Field(description="the broker's id; empty until acknowledged")
    strategy: str = Field(description='the strategy, or "manual"')
    instrument_key: str
    side: OrderSide
    order_type: OrderTypeName
    product: ProductCode = Field(description="I intraday (MIS), D delivery")
    validity: ValidityName
    quantity: int = Field(description="units (shares or contracts, not lots)")
    filled_quantity: int
    price: str = Field(description=f"limit price, {_MONEY}; 0.00 for MARKET and SL-M")
    trigger_price: str = Field(description=f"{_MONEY}; 0.00 unless SL / SL-M")
    average_price: str = Field(description=f"average fill price, {_MONEY}")
    status: str = Field(
        description="PENDING_NEW, OPEN, PARTIALLY_FILLED, FILLED, CANCELLED, REJECTED, "
        "TRIGGER_PENDING, MODIFY_PENDING or CANCEL_PENDING"
    )
    reason: str = Field(description="the reject code when rejected (else empty)")
    message: str = Field(description="the broker's or the risk check's words")
    submitted_at: str | None = Field(description="when it went to the broker (ISO-8601 UTC)")
    updated_at: str | None = Field(description="its last change (ISO-8601 UTC)")
    mode: str = Field(description="paper or live")
    algo_name: str = Field(description="the X-Algo-Name it was sent with (live)")


class ChargesOut(BaseModel):
    """Indian charges of one fill in rupees: brokerage, STT/CTT, exchange transaction
    charges, SEBI fee, stamp duty (buy side), GST, NSE's IPFT and the depository charge
    (``dp``, a delivery sell); ``total`` is their sum."""

    brokerage: str
    stt: str
    exchange: str
    sebi: str
    stamp: str
    gst: str
    ipft: str
    dp: str
    total: str


class TradeOut(BaseModel):
    """One fill, with its charges."""

    client_order_id: str
    broker_order_id: str
    strategy: str
    instrument_key: str
    side: OrderSide
    product: ProductCode
    quantity: int
    price: str = Field(description=f"fill price, {_MONEY}")
    value: str = Field(description=f"price x quantity, {_MONEY}")
    charges: ChargesOut
    time: str | None = Field(description="when it filled (ISO-8601 UTC)")


class PositionOut(BaseModel):
    """One strategy's net position in one instrument and product."""

    strategy: str
    instrument_key: str
    product: ProductCode
    quantity: int = Field(description="net units: > 0 long, < 0 short")
    average_price: str = Field(description=f"average open price, {_MONEY}")
    last_price: str | None = Field(description=f"the mark, {_MONEY}; null before a tick")
    realised: str
    unrealised: str


class PnlPartOut(BaseModel):
    realised: str
    unrealised: str
    charges: str
    net: str = Field(description="realised + unrealised - charges")


class TradingStateOut(BaseModel):
    """ACTIVE, REDUCING (position-reducing orders only) or HALTED; per account and strategy."""

    account: StateName
    strategies: dict[str, StateName] = Field(description="strategies not plainly ACTIVE")


class PnlOut(PnlPartOut):
    """The day's P&L of the account (rupees), per strategy, and the trading states."""

    strategies: dict[str, PnlPartOut]
    state: TradingStateOut


class PlaceOrderIn(BaseModel):
    """A manual order; it goes through the same risk checks as a strategy's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"symbol": "RELIANCE", "side": "BUY", "quantity": 10, "order_type": "LIMIT",
                 "product": "I", "price": "2500.50"},
                {"symbol": "NSE_EQ|INE002A01018", "side": "SELL", "quantity": 10,
                 "order_type": "SL-M", "product": "D", "trigger_price": "2400.00",
                 "strategy": "manual"},
            ]
        },
    )  # fmt: skip

    symbol: str = Field(
        description="A trading symbol (RELIANCE) or an instrument_key (NSE_EQ|INE...), as "
        "the quote endpoint takes it",
        pattern=SYMBOL_PATTERN,
    )
    side: OrderSide
    quantity: int = Field(gt=0, le=100_000_000, description="units (shares or contracts)")
    order_type: OrderTypeName
    product: ProductCode = Field(description="I intraday (MIS), D delivery")
    price: str | None = Field(
        default=None,
        pattern=PRICE_PATTERN,
        description='limit price in rupees (LIMIT and SL), e.g. "2500.50"',
    )
    trigger_price: str | None = Field(
        default=None, pattern=PRICE_PATTERN, description="trigger price in rupees (SL, SL-M)"
    )
    validity: ValidityName = "DAY"
    strategy: str = Field(
        default="manual", pattern=STRATEGY_PATTERN, description='default "manual"'
    )


class ModifyOrderIn(BaseModel):
    """A modification of a working order: only the fields to change (at least one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"price": "2501.00"}, {"quantity": 20}]},
    )

    quantity: int | None = Field(default=None, gt=0, le=100_000_000, description="units")
    price: str | None = Field(
        default=None, pattern=PRICE_PATTERN, description='new limit price in rupees, e.g. "2501.00"'
    )
    trigger_price: str | None = Field(
        default=None, pattern=PRICE_PATTERN, description="new trigger price in rupees"
    )
    order_type: OrderTypeName | None = None
    validity: ValidityName | None = None


class PlaceOrderOut(BaseModel):
    """The accepted order (several child orders when split at the freeze quantity)."""

    client_order_id: str
    orders: list[OrderOut]


class RejectionDetail(BaseModel):
    code: str = Field(description="the stable reason code (LOT_SIZE, HALTED, RATE_LIMIT, ...)")
    message: str = Field(description="why, in words")


class RejectionOut(BaseModel):
    """An order refused by the risk check (422)."""

    detail: RejectionDetail


class KillSwitchIn(BaseModel):
    """Halt (cancel working orders, refuse new ones), flatten (halt and close every
    position) or resume, for the account or one strategy."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "halt"}, {"action": "flatten",
                                                             "strategy": "orb"}]},
    )  # fmt: skip

    action: Literal["halt", "flatten", "resume"]
    strategy: str | None = Field(
        default=None, pattern=STRATEGY_PATTERN, description="one strategy; default the account"
    )
