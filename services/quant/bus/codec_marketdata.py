"""Market-data events <-> protobuf bytes: Tick, OptionGreeks, EnrichedTick, Candle.

Hot paths (the ingestor encodes every tick, the feature engine decodes them): messages
are filled by attribute assignment and decoded straight into the NamedTuples, enums are
mapped through tuples. Use them through ``quant.bus.codecs``; :func:`decode_ticks`
decodes a whole batch (native ``quant_wire`` when installed, :data:`TICK_BATCH_DECODER`
says which), and the ingestor calls :func:`encode_ticks` for each feed frame's ticks
(:data:`TICK_BATCH_ENCODER`). The bus knows only domain events: the feature service's
columnar codecs (numpy columns of a batch) live in :mod:`quant.features.codec_columns`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, cast

from google.protobuf.message import DecodeError

from quant import native
from quant.bus.codec_base import CodecError, enum_table, member
from quant.core.events import (
    AggressorSide,
    Candle,
    DepthLevel,
    EnrichedTick,
    FeedMode,
    FeedOhlc,
    OptionGreeks,
    Tick,
)
from quant.pb.marketdata.v1 import marketdata_pb2

_new = tuple.__new__
_PbTick = marketdata_pb2.Tick
_PbGreeks = marketdata_pb2.OptionGreeks
_PbEnriched = marketdata_pb2.EnrichedTick
_PbCandle = marketdata_pb2.Candle

_MODES: tuple[FeedMode, ...] = enum_table(FeedMode)
_AGGRESSORS: tuple[AggressorSide, ...] = enum_table(AggressorSide)


# --- Tick -------------------------------------------------------------------------------


def encode_tick(t: Tick) -> bytes:
    # attribute assignment is ~30% cheaper than constructor keywords on upb messages
    key, mode, ts_event, ts_init, ltp, ltt, ltq, close, volume, atp, oi, tbq, tsq, depth, ohlc = t
    m = _PbTick()
    m.instrument_key = key
    m.mode = mode  # type: ignore[assignment]  # IntEnum is the wire int
    m.ts_event = ts_event
    m.ts_init = ts_init
    m.ltp_paise = ltp
    m.ltt_ns = ltt
    m.ltq = ltq
    m.close_price_paise = close
    m.volume_traded_today = volume
    m.atp_paise = atp
    m.oi = oi
    m.total_buy_quantity = tbq
    m.total_sell_quantity = tsq
    if depth:
        add = m.depth.add
        for bid_price, bid_qty, ask_price, ask_qty in depth:
            level = add()
            level.bid_price_paise = bid_price
            level.bid_quantity = bid_qty
            level.ask_price_paise = ask_price
            level.ask_quantity = ask_qty
    if ohlc:
        add_bar = m.ohlc.add
        for interval, open_, high, low, close_, bar_volume, ts_ns in ohlc:
            bar = add_bar()
            bar.interval = interval
            bar.open_paise = open_
            bar.high_paise = high
            bar.low_paise = low
            bar.close_paise = close_
            bar.volume = bar_volume
            bar.ts_ns = ts_ns
    return m.SerializeToString()


def encode_ticks(ticks: Sequence[Tick]) -> list[bytes]:
    """``[encode_tick(t) for t in ticks]``, natively in one call when ``quant_wire`` is
    installed (:data:`TICK_BATCH_ENCODER`); a batch it does not take (a value that is not
    an int where one belongs, say) is encoded here, tick by tick, as before."""
    native = _native_encode_ticks
    if native is not None and ticks:
        try:
            return native(ticks if isinstance(ticks, list) else list(ticks))
        except (TypeError, ValueError, OverflowError):
            pass
    return [encode_tick(t) for t in ticks]


def decode_tick(data: bytes) -> Tick:
    try:
        m = _PbTick.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable Tick: {e}") from e
    mode = m.mode
    depth = m.depth
    ohlc = m.ohlc
    # tuple.__new__ skips the NamedTuples' Python-level __new__: a third of the cost here
    return _new(
        Tick,
        (
            m.instrument_key,
            _MODES[mode] if 0 < mode < len(_MODES) else member(_MODES, mode, "feed mode"),
            m.ts_event,
            m.ts_init,
            m.ltp_paise,
            m.ltt_ns,
            m.ltq,
            m.close_price_paise,
            m.volume_traded_today,
            m.atp_paise,
            m.oi,
            m.total_buy_quantity,
            m.total_sell_quantity,
            tuple(
                [
                    _new(
                        DepthLevel,
                        (d.bid_price_paise, d.bid_quantity, d.ask_price_paise, d.ask_quantity),
                    )
                    for d in depth
                ]
            )
            if depth
            else (),
            tuple(
                [
                    _new(
                        FeedOhlc,
                        (
                            o.interval,
                            o.open_paise,
                            o.high_paise,
                            o.low_paise,
                            o.close_paise,
                            o.volume,
                            o.ts_ns,
                        ),
                    )
                    for o in ohlc
                ]
            )
            if ohlc
            else (),
        ),
    )


_NativeTicks = Callable[..., list[Tick | None]]
NATIVE_MODES: Final = (FeedMode.LTPC, FeedMode.FULL, FeedMode.OPTION_GREEKS, FeedMode.FULL_D30)
"""Wire mode numbers 1..4 -> ``FeedMode``, the order the native decoders index."""


_native_function = native.function


_native_ticks = cast(_NativeTicks | None, _native_function("decode_ticks"))
_native_encode_ticks = cast(
    Callable[[list[Tick]], list[bytes]] | None, _native_function("encode_ticks")
)

TICK_BATCH_DECODER: Final[str] = "native" if _native_ticks is not None else "python"
"""Which decoder :func:`decode_ticks` uses first: ``"native"`` or ``"python"``."""
TICK_BATCH_ENCODER: Final[str] = "native" if _native_encode_ticks is not None else "python"
"""Which encoder :func:`encode_ticks` uses first: ``"native"`` or ``"python"``."""


def decode_ticks_python(values: Sequence[bytes]) -> list[Tick | CodecError]:
    """:func:`decode_ticks` with upb only (the fallback, and the differential reference)."""
    out: list[Tick | CodecError] = []
    for value in values:
        try:
            out.append(decode_tick(value))
        except CodecError as e:
            out.append(e)
    return out


def decode_ticks(values: Sequence[bytes]) -> list[Tick | CodecError]:
    """Decode a batch of Tick messages; an undecodable one yields its ``CodecError``.

    Same values (and errors) as :func:`decode_tick` per message. The native decoder
    returns ``None`` for anything it does not accept outright (malformed bytes, an
    unknown mode, an unexpected wire type); those are decoded (or rejected) by upb.
    """
    if _native_ticks is None:
        return decode_ticks_python(values)
    batch = values if type(values) is list else list(values)
    decoded = _native_ticks(batch, Tick, DepthLevel, FeedOhlc, NATIVE_MODES)
    out: list[Tick | CodecError] = []
    for value, tick in zip(batch, decoded, strict=True):
        if tick is not None:
            out.append(tick)
            continue
        try:
            out.append(decode_tick(value))
        except CodecError as e:
            out.append(e)
    return out


# --- OptionGreeks ----------------------------------------------------------------------


def encode_greeks(g: OptionGreeks) -> bytes:
    return _PbGreeks(
        instrument_key=g.instrument_key,
        ts_event=g.ts_event,
        ts_init=g.ts_init,
        ltp_paise=g.ltp,
        iv=g.iv,
        delta=g.delta,
        gamma=g.gamma,
        theta=g.theta,
        vega=g.vega,
        rho=g.rho,
        oi=g.oi,
        volume_traded_today=g.volume,
    ).SerializeToString()


def decode_greeks(data: bytes) -> OptionGreeks:
    try:
        m = _PbGreeks.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable OptionGreeks: {e}") from e
    return OptionGreeks(
        m.instrument_key,
        m.ts_event,
        m.ts_init,
        m.ltp_paise,
        m.iv,
        m.delta,
        m.gamma,
        m.theta,
        m.vega,
        m.rho,
        m.oi,
        m.volume_traded_today,
    )


# --- EnrichedTick ----------------------------------------------------------------------


def encode_enriched(e: EnrichedTick) -> bytes:
    # attribute assignment, as in encode_tick: cheaper than constructor keywords on upb
    m = _PbEnriched()
    (
        m.instrument_key,
        m.ts_event,
        m.ts_init,
        m.ltp_paise,
        m.volume_traded_today,
        m.session_vwap,
        m.rolling_vwap,
        m.imbalance_l1,
        m.imbalance_d5,
        m.imbalance_d30,
        m.spread_paise,
        m.spread_bps,
        m.microprice,
        m.aggressor,  # an IntEnum is the wire int
        m.trade_quantity,
        m.buy_volume,
        m.sell_volume,
        m.trade_intensity,
        m.ts_enriched,
        m.iv,
        m.delta,
        m.gamma,
        m.theta,
        m.vega,
    ) = e  # type: ignore[assignment]
    return m.SerializeToString()


def decode_enriched(data: bytes) -> EnrichedTick:
    try:
        m = _PbEnriched.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable EnrichedTick: {e}") from e
    return EnrichedTick(
        m.instrument_key,
        m.ts_event,
        m.ts_init,
        m.ltp_paise,
        m.volume_traded_today,
        m.session_vwap,
        m.rolling_vwap,
        m.imbalance_l1,
        m.imbalance_d5,
        m.imbalance_d30,
        m.spread_paise,
        m.spread_bps,
        m.microprice,
        member(_AGGRESSORS, m.aggressor, "aggressor side"),
        m.trade_quantity,
        m.buy_volume,
        m.sell_volume,
        m.trade_intensity,
        m.ts_enriched,
        m.iv,
        m.delta,
        m.gamma,
        m.theta,
        m.vega,
    )


# --- Candle ----------------------------------------------------------------------------


def encode_candle(c: Candle) -> bytes:
    return _PbCandle(
        instrument_key=c.instrument_key,
        interval_seconds=c.interval_seconds,
        ts_start=c.ts_start,
        open_paise=c.open,
        high_paise=c.high,
        low_paise=c.low,
        close_paise=c.close,
        volume=c.volume,
        oi=c.oi,
        trade_count=c.trade_count,
    ).SerializeToString()


def decode_candle(data: bytes) -> Candle:
    try:
        m = _PbCandle.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable Candle: {e}") from e
    return Candle(
        m.instrument_key,
        m.interval_seconds,
        m.ts_start,
        m.open_paise,
        m.high_paise,
        m.low_paise,
        m.close_paise,
        m.volume,
        m.oi,
        m.trade_count,
    )
