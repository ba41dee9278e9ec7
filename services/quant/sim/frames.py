"""Encode Market Data Feed V3 ``FeedResponse`` frames from the market arrays.

Each instrument's ``feeds`` map entry is serialised once per step and mode and shared by
every connection; a connection's frame is a short header (``type``, ``currentTs``) plus
the concatenated entries of its instruments, which is valid protobuf wire format for a
``map<string, Feed>``. Used by :mod:`quant.sim.feed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from quant.core.clock import IST, NS_PER_MS, ns_to_datetime
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.sim import wire
from quant.sim.calendar import Phase
from quant.sim.market import Market

MODES = ("ltpc", "full", "option_greeks", "full_d30")
_REQUEST_MODE = {
    "ltpc": pb.ltpc,
    "full": pb.full_d5,
    "option_greeks": pb.option_greeks,
    "full_d30": pb.full_d30,
}
SEGMENTS = (
    "NSE_EQ",
    "NSE_FO",
    "BSE_EQ",
    "BSE_FO",
    "NSE_INDEX",
    "BSE_INDEX",
    "NCD_FO",
    "BCD_FO",
    "MCX_FO",
    "NSE_COM",
    "MCX_INDEX",
)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def map_entry(key: str, feed: bytes) -> bytes:
    """Field 2 (``feeds``) of FeedResponse holding one key/Feed pair, fully tagged."""
    kb = key.encode()
    body = b"\x0a" + _varint(len(kb)) + kb + b"\x12" + _varint(len(feed)) + feed
    return b"\x12" + _varint(len(body)) + body


def frame(kind: int, entries: Iterable[bytes], current_ts_ms: int) -> bytes:
    """A FeedResponse of ``kind`` (pb.initial_feed / pb.live_feed) from tagged entries."""
    head = (b"\x08" + _varint(kind)) if kind else b""
    return head + b"".join(entries) + b"\x18" + _varint(current_ts_ms)


def market_info_frame(phase: Phase, now_ns: int) -> bytes:
    """The first message of every connection: segment statuses."""
    msg = pb.FeedResponse(type=pb.market_info, currentTs=now_ns // NS_PER_MS)
    status = getattr(pb, phase.value)
    for seg in SEGMENTS:
        msg.marketInfo.segmentStatus[seg] = (
            status if seg.startswith(("NSE", "BSE")) else pb.NORMAL_CLOSE
        )
    return msg.SerializeToString()


def _day_start_ms(now_ns: int) -> int:
    local = ns_to_datetime(now_ns, IST)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp()) * 1000


class _Candle(NamedTuple):
    interval: str
    open: float
    high: float
    low: float
    close: float
    vol: int
    ts: int


def _intraday(m: Market, rows: npt.NDArray[np.int64]) -> list[list[_Candle]]:
    """Per row: the I1 (previous and current) and I30 (current) candles, if any."""
    out: list[list[_Candle]] = [[] for _ in range(len(rows))]
    sel = np.nonzero(m.bar_pos[rows] >= 0)[0]
    if len(sel) == 0:
        return out
    for interval, minutes, prev in (("I1", 1, True), ("I1", 1, False), ("I30", 30, False)):
        got = m.window_ohlc(rows[sel], minutes, prev)
        if got is None:
            continue
        start_ms = got[0] // NS_PER_MS
        cols = got[1].T.tolist()
        for j, vals in zip(sel.tolist(), cols, strict=True):
            o, h, lo, c, v = vals
            out[j].append(
                _Candle(interval, o / 100.0, h / 100.0, lo / 100.0, c / 100.0, int(v), start_ms)
            )
    return out


def _iep(m: Market, rows: npt.NDArray[np.int64]) -> list[float]:
    """Indicative equilibrium prices during pre-open, zeros otherwise."""
    if m.phase in (Phase.PRE_OPEN_START, Phase.PRE_OPEN_END):
        out: list[float] = (m.iep[rows] / 100.0).tolist()
        return out
    return [0.0] * len(rows)


def encode(market: Market, rows: npt.NDArray[np.int64], mode: str) -> list[bytes]:
    """Tagged map entries for ``rows`` in ``mode`` at the market's current state.

    Columns become Python lists up front and messages are written by :mod:`wire`; building
    protobuf objects per instrument would dominate the cost at thousands per step.
    """
    if len(rows) == 0:
        return []
    m = market
    ltp = (m.ltp[rows] / 100.0).tolist()
    cp = (m.close_prev[rows] / 100.0).tolist()
    ltt = m.ltt_ms[rows].tolist()
    ltq = m.ltq[rows].tolist()
    keys = [m.u.keys[i] for i in rows.tolist()]
    req = int(_REQUEST_MODE[mode])
    iep = _iep(m, rows)
    if mode == "ltpc":
        return [
            map_entry(key, wire.feed(1, wire.ltpc(ltp[j], ltt[j], ltq[j], cp[j], iep[j]), req))
            for j, key in enumerate(keys)
        ]
    levels = 30 if mode == "full_d30" else 5
    book = m.book(rows, levels)
    bq, bp = book.bid_qty.tolist(), (book.bid_price / 100.0).tolist()
    aq, ap = book.ask_qty.tolist(), (book.ask_price / 100.0).tolist()
    tbq, tsq = book.bid_qty.sum(axis=1).tolist(), book.ask_qty.sum(axis=1).tolist()
    is_opt = m.is_opt[rows].tolist()
    is_index = m.is_index[rows].tolist()
    opt_rows = rows[m.is_opt[rows]]
    greek_rows: list[tuple[float, float, float, float, float, float]] = []
    if len(opt_rows):
        g, iv = m.greeks(opt_rows)
        greek_rows = list(
            zip(
                g.delta.tolist(),
                g.theta.tolist(),
                g.gamma.tolist(),
                g.vega.tolist(),
                g.rho.tolist(),
                iv.tolist(),
                strict=True,
            )
        )
    vtt, oi, atp = m.vtt[rows].tolist(), m.oi[rows].tolist(), (m.atp(rows) / 100.0).tolist()
    o = (m.open[rows] / 100.0).tolist()
    h = (m.high[rows] / 100.0).tolist()
    lo = (m.low[rows] / 100.0).tolist()
    day_ms = _day_start_ms(m.last_ns)
    intraday = _intraday(m, rows)
    out: list[bytes] = []
    gi = 0
    for j, key in enumerate(keys):
        lt = wire.ltpc(ltp[j], ltt[j], ltq[j], cp[j], iep[j])
        og = None
        iv_j = 0.0
        if is_opt[j]:
            d, th, ga, ve, rh, iv_j = greek_rows[gi]
            gi += 1
            og = wire.greeks(d, th, ga, ve, rh)
        if mode == "option_greeks":
            first = wire.quote(bq[j][0], bp[j][0], aq[j][0], ap[j][0])
            body = wire.first_level(lt, first, og, vtt[j], oi[j], iv_j)
            out.append(map_entry(key, wire.feed(3, body, req)))
            continue
        day = [wire.ohlc(b"1d", o[j], h[j], lo[j], ltp[j], vtt[j], day_ms)]
        day += [
            wire.ohlc(c.interval.encode(), c.open, c.high, c.low, c.close, c.vol, c.ts)
            for c in intraday[j]
        ]
        if is_index[j]:
            body = wire.full_feed(False, wire.index_full_feed(lt, day))
        else:
            qb, qp, qa, qap = bq[j], bp[j], aq[j], ap[j]
            quotes = [wire.quote(qb[k], qp[k], qa[k], qap[k]) for k in range(levels)]
            body = wire.full_feed(
                True,
                wire.market_full_feed(
                    lt, quotes, og, day, atp[j], vtt[j], oi[j], iv_j, float(tbq[j]), float(tsq[j])
                ),
            )
        out.append(map_entry(key, wire.feed(2, body, req)))
    return out
