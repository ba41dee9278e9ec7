"""Response models of the market endpoints and the pure functions that render them.

Prices leave the platform as decimal strings in rupees built from integer paise
(``123456`` -> ``"1234.56"``), never through a float. Derived statistics (VWAP,
microprice) are float paise inside the engine and are rendered as rupee strings
rounded to 4 decimals. NaN greeks render as ``null``. Called by the market routers.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from pydantic import BaseModel, Field

from quant.core.clock import IST, ns_to_datetime
from quant.core.events import EnrichedTick, OptionGreeks, Tick
from quant.core.freshness import DEFAULT_STALE_AFTER_S, age_seconds, is_stale
from quant.core.instruments import Instrument
from quant.core.money import paise_to_str
from quant.gateway.settings import MarketSource

_FOUR = Decimal("0.0001")


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
