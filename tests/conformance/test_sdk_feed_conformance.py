"""The SDK's ``MarketDataStreamerV3`` and our decoder read identical values from the same frames.

The SDK streamer is pointed at the simulator (its hard-coded ``wss://api.upstox.com`` URL
rewritten, nothing else changed) and subscribed in full, ltpc and option_greeks modes
to an equity, an index and options. Every raw frame it receives is recorded next to the
dict the SDK produced (``FeedResponse`` + ``MessageToDict``), then decoded again by
:func:`quant.upstox.wire.decode_frame` and compared field by field (prices via
``to_paise``, ms timestamps to ns).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import upstox_client
from sim_fixtures import NIFTY, RELIANCE, sdk_client, sim_fixture  # noqa: F401
from upstox_client.feeder import market_data_feeder_v3
from upstox_client.feeder.market_data_streamer_v3 import MarketDataStreamerV3

from quant.core.events import FeedMode, OptionGreeks, Tick
from quant.core.money import to_paise
from quant.sim.server import SimServer
from quant.upstox.wire import FeedFrame, FrameKind, decode_frame

pytestmark = pytest.mark.conformance
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


def _option_keys(sim: SimServer) -> list[str]:
    rows = sim.state.universe.rows
    return [str(r["instrument_key"]) for r in rows if r.get("instrument_type") in ("CE", "PE")][:4]


async def test_streamer_and_our_decoder_agree_on_the_same_frames(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw: list[bytes] = []
    dicts: list[dict[str, Any]] = []
    opened = threading.Event()
    real_app = market_data_feeder_v3.websocket.WebSocketApp
    real_handle = MarketDataStreamerV3.handle_message

    def local_app(url: str, *args: Any, **kwargs: Any) -> Any:
        ws_base = sim.base_url.replace("http", "ws", 1)
        return real_app(url.replace("wss://api.upstox.com", ws_base), *args, **kwargs)

    def recording(self: Any, ws: Any, message: bytes) -> None:
        raw.append(message)
        real_handle(self, ws, message)

    monkeypatch.setattr(market_data_feeder_v3.websocket, "WebSocketApp", local_app)
    monkeypatch.setattr(MarketDataStreamerV3, "handle_message", recording)
    options = _option_keys(sim)
    streamer = upstox_client.MarketDataStreamerV3(
        sdk_client(sim), [RELIANCE, NIFTY, *options[:2]], "full"
    )
    streamer.on("message", dicts.append)
    streamer.on("open", lambda: opened.set())
    await asyncio.to_thread(streamer.connect)
    try:
        assert await asyncio.to_thread(opened.wait, 10)
        await asyncio.to_thread(streamer.subscribe, ["NSE_EQ|INE009A01021"], "ltpc")
        await asyncio.to_thread(streamer.subscribe, options[2:], "option_greeks")
        for _ in range(100):
            if len(raw) >= 12:
                break
            await asyncio.sleep(0.1)
    finally:
        streamer.disconnect()
    n = min(len(raw), len(dicts))
    assert n >= 12
    kinds: set[str] = set()
    for data, d in zip(raw[:n], dicts[:n], strict=True):
        kinds |= compare(decode_frame(data, 0), d)
    assert kinds >= {"full_equity", "full_index", "full_option", "ltpc", "option_greeks"}
