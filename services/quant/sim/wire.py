"""Hand-rolled protobuf writer for the feed's hot path (LTPC, MarketFullFeed, greeks).

Builds the same wire bytes a ``FeedResponse`` parser expects (field numbers from
``proto/quant/pb/upstox/v3/market_data_feed.proto``) without creating protobuf message
objects, which dominate the cost at thousands of instruments per step. Zero-valued
scalars are written explicitly (valid protobuf; parsers treat them as set to zero).
:func:`quant.sim.frames.encode` uses it; tests compare it with the protobuf-built oracle.
"""

from __future__ import annotations

import struct

_D = struct.Struct("<d").pack
_V1 = [bytes((i,)) for i in range(128)]


def varint(value: int) -> bytes:
    """Unsigned LEB128 (non-negative values only)."""
    if value < 128:
        return _V1[value]
    out = bytearray()
    while value > 127:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def sub(tag: bytes, body: bytes) -> bytes:
    """A length-delimited field (``tag`` already includes wire type 2)."""
    return tag + varint(len(body)) + body


def ltpc(ltp: float, ltt: int, ltq: int, cp: float, iep: float = 0.0) -> bytes:
    """LTPC; a positive ``iep`` (pre-open indicative price) is sent as a DoubleValue."""
    out = b"\x09" + _D(ltp) + b"\x10" + varint(ltt) + b"\x18" + varint(ltq) + b"\x21" + _D(cp)
    return out + b"\x2a\x09\x09" + _D(iep) if iep > 0 else out


def quote(bid_q: int, bid_p: float, ask_q: int, ask_p: float) -> bytes:
    return (
        b"\x08"
        + varint(bid_q)
        + b"\x11"
        + _D(bid_p)
        + b"\x18"
        + varint(ask_q)
        + b"\x21"
        + _D(ask_p)
    )


def greeks(delta: float, theta: float, gamma: float, vega: float, rho: float) -> bytes:
    return (
        b"\x09"
        + _D(delta)
        + b"\x11"
        + _D(theta)
        + b"\x19"
        + _D(gamma)
        + b"\x21"
        + _D(vega)
        + b"\x29"
        + _D(rho)
    )


def ohlc(interval: bytes, o: float, h: float, lo: float, c: float, vol: int, ts: int) -> bytes:
    return (
        b"\x0a"
        + varint(len(interval))
        + interval
        + b"\x11"
        + _D(o)
        + b"\x19"
        + _D(h)
        + b"\x21"
        + _D(lo)
        + b"\x29"
        + _D(c)
        + b"\x30"
        + varint(vol)
        + b"\x38"
        + varint(ts)
    )


def market_full_feed(
    ltpc_b: bytes,
    quotes: list[bytes],
    greeks_b: bytes | None,
    ohlc_b: list[bytes],
    atp: float,
    vtt: int,
    oi: float,
    iv: float,
    tbq: float,
    tsq: float,
) -> bytes:
    level = b"".join(sub(b"\x0a", q) for q in quotes)
    parts = [sub(b"\x0a", ltpc_b), sub(b"\x12", level)]
    if greeks_b is not None:
        parts.append(sub(b"\x1a", greeks_b))
    parts.append(sub(b"\x22", b"".join(sub(b"\x0a", x) for x in ohlc_b)))
    parts.append(
        b"\x29"
        + _D(atp)
        + b"\x30"
        + varint(vtt)
        + b"\x39"
        + _D(oi)
        + b"\x41"
        + _D(iv)
        + b"\x49"
        + _D(tbq)
        + b"\x51"
        + _D(tsq)
    )
    return b"".join(parts)


def index_full_feed(ltpc_b: bytes, ohlc_b: list[bytes]) -> bytes:
    return sub(b"\x0a", ltpc_b) + sub(b"\x12", b"".join(sub(b"\x0a", x) for x in ohlc_b))


def first_level(
    ltpc_b: bytes, quote_b: bytes, greeks_b: bytes | None, vtt: int, oi: float, iv: float
) -> bytes:
    out = sub(b"\x0a", ltpc_b) + sub(b"\x12", quote_b)
    if greeks_b is not None:
        out += sub(b"\x1a", greeks_b)
    return out + b"\x20" + varint(vtt) + b"\x29" + _D(oi) + b"\x31" + _D(iv)


def feed(union_field: int, body: bytes, request_mode: int) -> bytes:
    """``Feed`` with ``ltpc`` (1), ``fullFeed`` (2) or ``firstLevelWithGreeks`` (3)."""
    tail = b"\x20" + varint(request_mode) if request_mode else b""
    return sub(bytes(((union_field << 3) | 2,)), body) + tail


def full_feed(market: bool, body: bytes) -> bytes:
    """``FullFeed`` with ``marketFF`` (market=True) or ``indexFF``."""
    return sub(b"\x0a" if market else b"\x12", body)
