"""Field-by-field comparison of our decoded ``FeedFrame`` with the SDK's ``MessageToDict``.

Used by the conformance tests on live simulator frames and on recorded frames. Prices
compare through ``to_paise``; int64s arrive as strings from ``MessageToDict``; fields at
their default value are omitted there, hence the ``.get(..., 0)`` everywhere.
"""

from __future__ import annotations

from typing import Any

from quant.core.events import FeedMode, OptionGreeks, Tick
from quant.core.money import to_paise
from quant.upstox.wire import FeedFrame, FrameKind

MS = 1_000_000
KINDS = {
    FrameKind.INITIAL: "initial_feed",
    FrameKind.LIVE: "live_feed",
    FrameKind.MARKET_INFO: "market_info",
}


def _i(d: dict[str, Any], key: str) -> int:
    return int(d.get(key, 0))  # int64 arrive as strings from MessageToDict


def _p(d: dict[str, Any], key: str) -> int:
    return to_paise(float(d.get(key, 0.0)))


def _check_ltpc(t: Tick, lt: dict[str, Any]) -> None:
    assert t.ltp == _p(lt, "ltp")
    assert t.ltt_ns == _i(lt, "ltt") * MS
    assert t.ltq == _i(lt, "ltq")
    assert t.close_price == _p(lt, "cp")


def _check_ohlc(t: Tick, ohlc: list[dict[str, Any]]) -> None:
    assert len(t.ohlc) == len(ohlc)
    for bar, o in zip(t.ohlc, ohlc, strict=True):
        assert bar.interval == o.get("interval", "")
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(
            _p(o, k) for k in ("open", "high", "low", "close")
        )
        assert (bar.volume, bar.ts_ns) == (_i(o, "vol"), _i(o, "ts") * MS)


def _check_greeks(g: OptionGreeks, gk: dict[str, Any], iv: float, oi: int, vtt: int) -> None:
    assert (g.delta, g.gamma, g.theta, g.vega, g.rho) == tuple(
        float(gk.get(k, 0.0)) for k in ("delta", "gamma", "theta", "vega", "rho")
    )
    assert (g.iv, g.oi, g.volume) == (iv, oi, vtt)


def compare(frame: FeedFrame, d: dict[str, Any]) -> set[str]:
    """Assert our frame equals the SDK's dict; return the kinds of feed compared."""
    assert KINDS[frame.kind] == d.get("type", "initial_feed")
    assert frame.ts_event == _i(d, "currentTs") * MS
    if frame.kind is FrameKind.MARKET_INFO:
        seg = d.get("marketInfo", {}).get("segmentStatus", {})
        assert dict(frame.segment_status) == seg
    ticks = {t.instrument_key: t for t in frame.ticks}
    greeks = {g.instrument_key: g for g in frame.greeks}
    feeds: dict[str, Any] = d.get("feeds", {})
    assert set(ticks) == set(feeds)
    kinds: set[str] = set()
    for key, f in feeds.items():
        t = ticks[key]
        if "ltpc" in f:
            kinds.add("ltpc")
            assert t.mode is FeedMode.LTPC
            _check_ltpc(t, f["ltpc"])
        elif "firstLevelWithGreeks" in f:
            kinds.add("option_greeks")
            fl = f["firstLevelWithGreeks"]
            _check_ltpc(t, fl.get("ltpc", {}))
            q = fl.get("firstDepth", {})
            (level,) = t.depth
            assert level == (_p(q, "bidP"), _i(q, "bidQ"), _p(q, "askP"), _i(q, "askQ"))
            oi, vtt = int(fl.get("oi", 0.0)), _i(fl, "vtt")
            assert (t.oi, t.volume) == (oi, vtt)
            _check_greeks(greeks[key], fl.get("optionGreeks", {}), float(fl.get("iv", 0)), oi, vtt)
        elif "marketFF" in f.get("fullFeed", {}):
            m = f["fullFeed"]["marketFF"]
            kinds.add("full_option" if "optionGreeks" in m else "full_equity")
            _check_ltpc(t, m.get("ltpc", {}))
            quotes = m.get("marketLevel", {}).get("bidAskQuote", [])
            assert [tuple(x) for x in t.depth] == [
                (_p(q, "bidP"), _i(q, "bidQ"), _p(q, "askP"), _i(q, "askQ")) for q in quotes
            ]
            _check_ohlc(t, m.get("marketOHLC", {}).get("ohlc", []))
            oi, vtt = int(m.get("oi", 0.0)), _i(m, "vtt")
            assert (t.atp, t.volume, t.oi) == (_p(m, "atp"), vtt, oi)
            assert (t.total_buy_quantity, t.total_sell_quantity) == (
                int(m.get("tbq", 0.0)), int(m.get("tsq", 0.0)),
            )  # fmt: skip
            if "optionGreeks" in m:
                _check_greeks(greeks[key], m["optionGreeks"], float(m.get("iv", 0)), oi, vtt)
            else:
                assert key not in greeks
        elif "indexFF" in f.get("fullFeed", {}):
            kinds.add("full_index")
            i = f["fullFeed"]["indexFF"]
            _check_ltpc(t, i.get("ltpc", {}))
            _check_ohlc(t, i.get("marketOHLC", {}).get("ohlc", []))
            assert t.depth == ()
    return kinds
