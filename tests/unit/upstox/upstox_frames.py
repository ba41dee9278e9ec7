"""Builders of Upstox V3 feed frames for the adapter's tests (via our wire-compatible pb2)."""

from __future__ import annotations

from quant.pb.upstox.v3 import market_data_feed_pb2 as pb

TS_MS = 1_764_000_000_123


def full_equity_frame(key: str = "NSE_EQ|INE002A01018", ltp: float = 1234.55) -> bytes:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=TS_MS)
    feed = msg.feeds[key]
    feed.requestMode = pb.full_d5
    mff = feed.fullFeed.marketFF
    mff.ltpc.ltp = ltp
    mff.ltpc.ltt = TS_MS - 5
    mff.ltpc.ltq = 25
    mff.ltpc.cp = 1200.1
    for i in range(5):
        mff.marketLevel.bidAskQuote.add(
            bidQ=100 + i, bidP=ltp - 0.05 * (i + 1), askQ=200 + i, askP=ltp + 0.05 * (i + 1)
        )
    for interval in ("1d", "I1", "I30"):
        mff.marketOHLC.ohlc.add(
            interval=interval, open=1220.0, high=1240.5, low=1210.25, close=ltp, vol=999, ts=TS_MS
        )
    mff.atp = 1230.12
    mff.vtt = 123456
    mff.oi = 0
    mff.tbq = 5000.0
    mff.tsq = 6000.0
    return msg.SerializeToString()


def full_option_frame(key: str = "NSE_FO|43919") -> bytes:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=TS_MS)
    feed = msg.feeds[key]
    feed.requestMode = pb.full_d5
    mff = feed.fullFeed.marketFF
    mff.ltpc.ltp = 101.35
    mff.ltpc.ltt = TS_MS
    mff.ltpc.ltq = 75
    mff.ltpc.cp = 99.0
    mff.marketLevel.bidAskQuote.add(bidQ=75, bidP=101.3, askQ=150, askP=101.4)
    mff.vtt = 1_000_000
    mff.oi = 2_500_000.0
    mff.iv = 0.1543
    g = mff.optionGreeks
    g.delta, g.theta, g.gamma, g.vega, g.rho = 0.52, -12.5, 0.0011, 8.2, 1.1
    return msg.SerializeToString()


def ltpc_frame(prices: dict[str, float]) -> bytes:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=TS_MS)
    for key, price in prices.items():
        feed = msg.feeds[key]
        feed.requestMode = pb.ltpc
        feed.ltpc.ltp = price
        feed.ltpc.ltt = TS_MS - 1
        feed.ltpc.ltq = 10
        feed.ltpc.cp = price - 1
    return msg.SerializeToString()


def index_frame(key: str = "NSE_INDEX|Nifty 50") -> bytes:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=TS_MS)
    feed = msg.feeds[key]
    feed.requestMode = pb.full_d5
    iff = feed.fullFeed.indexFF
    iff.ltpc.ltp = 24012.35
    iff.ltpc.cp = 23950.0
    iff.marketOHLC.ohlc.add(interval="1d", open=23900, high=24100, low=23850, close=24012.35)
    return msg.SerializeToString()


def greeks_frame(key: str = "NSE_FO|43920") -> bytes:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=TS_MS)
    feed = msg.feeds[key]
    feed.requestMode = pb.option_greeks
    fl = feed.firstLevelWithGreeks
    fl.ltpc.ltp = 55.05
    fl.ltpc.ltt = TS_MS
    fl.firstDepth.bidP, fl.firstDepth.bidQ, fl.firstDepth.askP, fl.firstDepth.askQ = (
        55,
        75,
        55.1,
        50,
    )
    fl.optionGreeks.delta = -0.31
    fl.vtt = 4200
    fl.oi = 150000
    fl.iv = 0.2
    return msg.SerializeToString()


def market_info_frame() -> bytes:
    msg = pb.FeedResponse(type=pb.market_info, currentTs=TS_MS)
    msg.marketInfo.segmentStatus["NSE_EQ"] = pb.NORMAL_OPEN
    msg.marketInfo.segmentStatus["NSE_FO"] = pb.NORMAL_CLOSE
    return msg.SerializeToString()
