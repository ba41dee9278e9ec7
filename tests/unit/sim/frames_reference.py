"""The protobuf-built oracle of the simulator's hand-rolled feed encoder.

:func:`encode_reference` builds the same ``feeds`` map entries as
:func:`quant.sim.frames.encode`, but with protobuf message objects (``pb.Feed(...)``,
``SerializeToString()``): the oracle of ``test_frames.py`` and the reference side of
``bench/bench_sim_feed.py`` (which puts this folder on ``sys.path``). It shares the
encoder's market-state helpers, so that only the encoding differs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.sim.frames import _REQUEST_MODE as REQUEST_MODE
from quant.sim.frames import _day_start_ms as day_start_ms
from quant.sim.frames import _iep as iep_of
from quant.sim.frames import _intraday as intraday_candles
from quant.sim.frames import map_entry
from quant.sim.market import Market


def ref_ltpc(ltp: float, ltt: int, ltq: int, cp: float, iep: float) -> pb.LTPC:
    msg = pb.LTPC(ltp=ltp, ltt=ltt, ltq=ltq, cp=cp)
    if iep > 0:
        msg.iep.value = iep
    return msg


def encode_reference(market: Market, rows: npt.NDArray[np.int64], mode: str) -> list[bytes]:
    """Same entries as :func:`quant.sim.frames.encode`, built with protobuf messages."""
    if len(rows) == 0:
        return []
    m = market
    ltp = (m.ltp[rows] / 100.0).tolist()
    cp = (m.close_prev[rows] / 100.0).tolist()
    ltt = m.ltt_ms[rows].tolist()
    ltq = m.ltq[rows].tolist()
    keys = [m.u.keys[i] for i in rows.tolist()]
    req = REQUEST_MODE[mode]
    iep = iep_of(m, rows)
    Feed = pb.Feed
    out: list[bytes] = []
    if mode == "ltpc":
        for j, key in enumerate(keys):
            f = Feed(ltpc=ref_ltpc(ltp[j], ltt[j], ltq[j], cp[j], iep[j]), requestMode=req)
            out.append(map_entry(key, f.SerializeToString()))
        return out
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
    day_ms = day_start_ms(m.last_ns)
    intraday = intraday_candles(m, rows)
    gi = 0
    for j, key in enumerate(keys):
        lt = ref_ltpc(ltp[j], ltt[j], ltq[j], cp[j], iep[j])
        og = None
        iv_j = 0.0
        if is_opt[j]:
            d, th, ga, ve, rh, iv_j = greek_rows[gi]
            gi += 1
            og = pb.OptionGreeks(delta=d, theta=th, gamma=ga, vega=ve, rho=rh)
        if mode == "option_greeks":
            first = pb.Quote(bidQ=bq[j][0], bidP=bp[j][0], askQ=aq[j][0], askP=ap[j][0])
            fl = pb.FirstLevelWithGreeks(
                ltpc=lt, firstDepth=first, optionGreeks=og, vtt=vtt[j], oi=oi[j], iv=iv_j
            )
            f = Feed(firstLevelWithGreeks=fl, requestMode=req)
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
                    vol=vtt[j],
                    ts=day_ms,
                ),
                *(
                    pb.OHLC(
                        interval=c.interval,
                        open=c.open,
                        high=c.high,
                        low=c.low,
                        close=c.close,
                        vol=c.vol,
                        ts=c.ts,
                    )
                    for c in intraday[j]
                ),
            ]
        )
        if is_index[j]:
            f = Feed(
                fullFeed=pb.FullFeed(indexFF=pb.IndexFullFeed(ltpc=lt, marketOHLC=ohlc)),
                requestMode=req,
            )
        else:
            qb, qp, qa, qap = bq[j], bp[j], aq[j], ap[j]
            quotes = [
                pb.Quote(bidQ=qb[k], bidP=qp[k], askQ=qa[k], askP=qap[k]) for k in range(levels)
            ]
            ff = pb.MarketFullFeed(
                ltpc=lt,
                marketLevel=pb.MarketLevel(bidAskQuote=quotes),
                optionGreeks=og,
                marketOHLC=ohlc,
                atp=atp[j],
                vtt=vtt[j],
                oi=oi[j],
                iv=iv_j,
                tbq=float(tbq[j]),
                tsq=float(tsq[j]),
            )
            f = Feed(fullFeed=pb.FullFeed(marketFF=ff), requestMode=req)
        out.append(map_entry(key, f.SerializeToString()))
    return out
