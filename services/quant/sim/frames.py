"""Encode Market Data Feed V3 ``FeedResponse`` frames from the market arrays.

Each instrument's ``feeds`` map entry is serialised once per step and mode and shared by
every connection; a connection's frame is a short header (``type``, ``currentTs``) plus
the concatenated entries of its instruments, which is valid protobuf wire format for a
``map<string, Feed>``. Used by :mod:`quant.sim.feed`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from quant.core.clock import IST, NS_PER_MS, ns_to_datetime
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
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


def encode(market: Market, rows: npt.NDArray[np.int64], mode: str) -> list[bytes]:
    """Tagged map entries for ``rows`` in ``mode`` at the market's current state."""
    if len(rows) == 0:
        return []
    m = market
    ltp = m.ltp[rows] / 100.0
    cp = m.close_prev[rows] / 100.0
    ltt = m.ltt_ms[rows]
    ltq = m.ltq[rows]
    keys = [m.u.keys[i] for i in rows.tolist()]
    req = _REQUEST_MODE[mode]
    out: list[bytes] = []
    if mode == "ltpc":
        for j, key in enumerate(keys):
            f = pb.Feed(
                ltpc=pb.LTPC(ltp=ltp[j], ltt=int(ltt[j]), ltq=int(ltq[j]), cp=cp[j]),
                requestMode=req,
            )
            out.append(map_entry(key, f.SerializeToString()))
        return out
    levels = 30 if mode == "full_d30" else 5
    book = m.book(rows, levels)
    is_opt = m.is_opt[rows]
    is_index = m.is_index[rows]
    opt_rows = rows[is_opt]
    greeks, iv = m.greeks(opt_rows) if len(opt_rows) else (None, None)
    gpos = np.cumsum(is_opt) - 1
    vtt, oi, atp = m.vtt[rows], m.oi[rows], m.atp(rows) / 100.0
    o, h, lo = m.open[rows] / 100.0, m.high[rows] / 100.0, m.low[rows] / 100.0
    day_ms = _day_start_ms(m.last_ns)
    for j, key in enumerate(keys):
        lt = pb.LTPC(ltp=ltp[j], ltt=int(ltt[j]), ltq=int(ltq[j]), cp=cp[j])
        og = None
        if is_opt[j] and greeks is not None:
            g = int(gpos[j])
            og = pb.OptionGreeks(
                delta=greeks.delta[g],
                theta=greeks.theta[g],
                gamma=greeks.gamma[g],
                vega=greeks.vega[g],
                rho=greeks.rho[g],
            )
        if mode == "option_greeks":
            first = pb.Quote(
                bidQ=int(book.bid_qty[j, 0]),
                bidP=book.bid_price[j, 0] / 100.0,
                askQ=int(book.ask_qty[j, 0]),
                askP=book.ask_price[j, 0] / 100.0,
            )
            fl = pb.FirstLevelWithGreeks(
                ltpc=lt,
                firstDepth=first,
                optionGreeks=og,
                vtt=int(vtt[j]),
                oi=oi[j],
                iv=float(iv[int(gpos[j])]) if og is not None and iv is not None else 0.0,
            )
            f = pb.Feed(firstLevelWithGreeks=fl, requestMode=req)
            out.append(map_entry(key, f.SerializeToString()))
            continue
        ohlc = pb.MarketOHLC(
            ohlc=[
                pb.OHLC(
                    interval="1d",
                    open=o[j],
                    high=h[j],
                    low=lo[j],
                    close=ltp[j],
                    vol=int(vtt[j]),
                    ts=day_ms,
                )
            ]
        )
        if is_index[j]:
            f = pb.Feed(
                fullFeed=pb.FullFeed(indexFF=pb.IndexFullFeed(ltpc=lt, marketOHLC=ohlc)),
                requestMode=req,
            )
        else:
            quotes = [
                pb.Quote(
                    bidQ=int(book.bid_qty[j, k]),
                    bidP=book.bid_price[j, k] / 100.0,
                    askQ=int(book.ask_qty[j, k]),
                    askP=book.ask_price[j, k] / 100.0,
                )
                for k in range(levels)
            ]
            ff = pb.MarketFullFeed(
                ltpc=lt,
                marketLevel=pb.MarketLevel(bidAskQuote=quotes),
                optionGreeks=og,
                marketOHLC=ohlc,
                atp=atp[j],
                vtt=int(vtt[j]),
                oi=oi[j],
                iv=float(iv[int(gpos[j])]) if og is not None and iv is not None else 0.0,
                tbq=float(book.bid_qty[j].sum()),
                tsq=float(book.ask_qty[j].sum()),
            )
            f = pb.Feed(fullFeed=pb.FullFeed(marketFF=ff), requestMode=req)
        out.append(map_entry(key, f.SerializeToString()))
    return out
