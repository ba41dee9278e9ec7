"""Pure decoding of Upstox V3 feed frames (protobuf ``FeedResponse``) into domain events.

Called by :mod:`quant.upstox.feed` for every binary frame, by the benchmark in
``bench/bench_decode.py`` and by the conformance tests. It turns one frame straight
into :class:`~quant.core.events.Tick` / :class:`~quant.core.events.OptionGreeks`
NamedTuples: no ``MessageToDict``, no intermediate dicts. Prices become integer paise
with exactly the rounding of :func:`quant.core.money.to_paise` (half away from zero),
``ts_event`` is the frame's ``currentTs`` (ms) in UTC ns and ``ts_init`` is given by the
caller (its clock). Feed fields ``ltt`` and OHLC ``ts`` are ms and become ns.

Two decoders give identical results; this module picks one, once, at import:

* ``native``: the Rust extension ``quant_wire`` (``native/quant_wire``, installed by
  ``scripts/bootstrap.sh``), which parses the protobuf wire format itself;
* ``python``: :func:`decode_frame_python`, on upb. Its hot loop binds everything to locals
  and builds the NamedTuples with ``tuple.__new__`` so that the only per-field cost left
  is upb's attribute access. Used when ``quant_wire`` is not importable.

:data:`DECODER` says which one :func:`decode_frame` is. Feeds come out in map order,
which protobuf leaves unspecified (upb: hash order, native: wire order). Both check every
feed entry against a :class:`~quant.upstox.checks.TickBounds` (by default
:data:`~quant.upstox.checks.DEFAULT_BOUNDS`, the value checks; the feed client adds the
session window and its subscribed keys), leave out the ones that break a rule and list
them, with the rule, in ``FeedFrame.rejected``; ``bounds=None`` decodes unchecked.
Subscription requests (binary JSON) are built here too, see :func:`encode_request`.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from enum import IntEnum
from typing import Any, Final, NamedTuple, Protocol, cast

from google.protobuf.message import DecodeError

from quant import native
from quant.core.events import DepthLevel, FeedMode, FeedOhlc, OptionGreeks, Tick
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.upstox.checks import DEFAULT_BOUNDS, TickBounds
from quant.upstox.errors import UpstoxDecodeError

_NS_PER_MS = 1_000_000
_INF = math.inf


class FrameKind(IntEnum):
    """``FeedResponse.type``: snapshot, live update or market-status message."""

    INITIAL = 0
    LIVE = 1
    MARKET_INFO = 2


class FeedFrame(NamedTuple):
    """One decoded feed frame: its ticks, greeks and (for market_info) segment statuses."""

    kind: FrameKind
    ts_event: int
    ts_init: int
    ticks: list[Tick]
    greeks: list[OptionGreeks]
    segment_status: tuple[tuple[str, str], ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()
    """``(instrument_key, reason)`` per feed dropped by the checks (:mod:`quant.upstox.checks`)."""


_MODE_BY_WIRE = {
    pb.ltpc: FeedMode.LTPC,
    pb.full_d5: FeedMode.FULL,
    pb.option_greeks: FeedMode.OPTION_GREEKS,
    pb.full_d30: FeedMode.FULL_D30,
}
_STATUS_NAMES = {v.number: v.name for v in pb.MarketStatus.DESCRIPTOR.values}
_KINDS = {k.value: k for k in FrameKind}


_NativeResult = tuple[
    int, int, list[Tick], list[OptionGreeks], list[tuple[str, int]], list[tuple[str, str]]
]
# Wire RequestMode number -> FeedMode, the order the native decoder indexes.
_NATIVE_MODES = (FeedMode.LTPC, FeedMode.FULL, FeedMode.OPTION_GREEKS, FeedMode.FULL_D30)


_native_decode = cast(Callable[..., _NativeResult] | None, native.function("decode_frame"))


def decode_frame_native(
    data: bytes, ts_init: int, bounds: TickBounds | None = DEFAULT_BOUNDS
) -> FeedFrame:
    """Decode one frame with the ``quant_wire`` extension (must be installed).

    Feeds outside ``bounds`` are left out and listed in ``FeedFrame.rejected``;
    ``bounds=None`` decodes every value unchecked (a non-finite price fails the frame).
    """
    if _native_decode is None:
        raise RuntimeError("the native decoder quant_wire is not installed")
    if type(data) is not bytes:  # bytearray/memoryview: the extension takes bytes only
        data = bytes(data)
    try:
        kind_no, ts_event, ticks, greeks, seg, rejected = _native_decode(
            data,
            ts_init,
            Tick,
            DepthLevel,
            FeedOhlc,
            OptionGreeks,
            _NATIVE_MODES,
            None if bounds is None else bounds.as_native(),
        )
    except ValueError as e:
        raise UpstoxDecodeError(str(e)) from e
    kind = _KINDS.get(kind_no)
    if kind is None:
        raise UpstoxDecodeError(f"feed frame has unknown type {kind_no}")
    status: tuple[tuple[str, str], ...] = ()
    if seg:
        status = tuple(sorted((k, _STATUS_NAMES.get(v, str(v))) for k, v in seg))
    return FeedFrame(kind, ts_event, ts_init, ticks, greeks, status, tuple(rejected))


def decode_frame_python(
    data: bytes, ts_init: int, bounds: TickBounds | None = DEFAULT_BOUNDS
) -> FeedFrame:
    """Decode one frame with upb (the fallback when ``quant_wire`` is not installed).

    Same contract as :func:`decode_frame_native`.
    """
    try:
        msg = pb.FeedResponse.FromString(data)
    except DecodeError as e:
        raise UpstoxDecodeError(f"malformed feed frame ({len(data)} bytes): {e}") from e
    kind = _KINDS.get(msg.type)
    if kind is None:
        raise UpstoxDecodeError(f"feed frame has unknown type {msg.type}")
    ts_event = msg.currentTs * _NS_PER_MS
    ticks: list[Tick] = []
    greeks: list[OptionGreeks] = []
    rejected: list[tuple[str, str]] = []
    if msg.feeds:
        try:
            _decode_feeds(msg.feeds, ts_event, ts_init, ticks, greeks, bounds, rejected)
        except (ValueError, OverflowError) as e:  # int() of a NaN/infinite price
            raise UpstoxDecodeError(f"feed frame has a non-finite value: {e}") from e
    status: tuple[tuple[str, str], ...] = ()
    if kind is FrameKind.MARKET_INFO:
        seg = msg.marketInfo.segmentStatus
        status = tuple(sorted((k, _STATUS_NAMES.get(v, str(v))) for k, v in seg.items()))
    return FeedFrame(kind, ts_event, ts_init, ticks, greeks, status, tuple(rejected))


DECODER: Final[str] = "native" if _native_decode is not None else "python"
"""Which decoder :func:`decode_frame` is: ``"native"`` or ``"python"``."""


class FrameDecoder(Protocol):
    """The signature of :func:`decode_frame_native` and :func:`decode_frame_python`."""

    def __call__(
        self, data: bytes, ts_init: int, bounds: TickBounds | None = DEFAULT_BOUNDS
    ) -> FeedFrame: ...


decode_frame: FrameDecoder = (
    decode_frame_native if _native_decode is not None else decode_frame_python
)
"""Decode one binary feed frame (``bounds`` defaults to :data:`DEFAULT_BOUNDS`); raise
:class:`UpstoxDecodeError` if it is malformed."""


def _bars(bars: Iterable[Any]) -> list[FeedOhlc]:
    """The feed's OHLC bars (``1d``, ``I1``, ``I30``) as domain bars in paise and ns."""
    new = tuple.__new__
    out = []
    for c in bars:
        o, h, lo, cl = c.open, c.high, c.low, c.close
        out.append(
            new(
                FeedOhlc,
                (
                    c.interval,
                    int(o * 100 + 0.5) if o >= 0 else -int(-o * 100 + 0.5),
                    int(h * 100 + 0.5) if h >= 0 else -int(-h * 100 + 0.5),
                    int(lo * 100 + 0.5) if lo >= 0 else -int(-lo * 100 + 0.5),
                    int(cl * 100 + 0.5) if cl >= 0 else -int(-cl * 100 + 0.5),
                    c.vol,
                    c.ts * _NS_PER_MS,
                ),
            )
        )
    return out


def _decode_feeds(
    feeds: object,
    ts_event: int,
    ts_init: int,
    ticks: list[Tick],
    greeks: list[OptionGreeks],
    bounds: TickBounds | None = None,
    rejected: list[tuple[str, str]] | None = None,
) -> None:
    entries: Iterable[tuple[str, Any, str | None]]
    if bounds is None:
        entries = ((k, f, f.WhichOneof("FeedUnion")) for k, f in feeds.items())  # type: ignore[attr-defined]
    else:
        entries = _checked(feeds, ts_event // _NS_PER_MS, bounds, rejected)
    new = tuple.__new__
    tick_cls = Tick
    depth_cls = DepthLevel
    greeks_cls = OptionGreeks
    modes = _MODE_BY_WIRE
    full_mode = FeedMode.FULL
    ltpc_mode = FeedMode.LTPC
    greeks_mode = FeedMode.OPTION_GREEKS
    ms = _NS_PER_MS
    append_tick = ticks.append
    append_greeks = greeks.append
    for key, feed, which in entries:
        if which == "fullFeed":
            full = feed.fullFeed
            mff = full.marketFF if full.WhichOneof("FullFeedUnion") == "marketFF" else None
            mode = modes.get(feed.requestMode, full_mode)
            if mff is not None:
                lt = mff.ltpc
                x = lt.ltp
                ltp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
                x = lt.cp
                cp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
                x = mff.atp
                atp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
                depth = []
                for q in mff.marketLevel.bidAskQuote:
                    b = q.bidP
                    a = q.askP
                    depth.append(
                        new(
                            depth_cls,
                            (
                                int(b * 100 + 0.5) if b >= 0 else -int(-b * 100 + 0.5),
                                q.bidQ,
                                int(a * 100 + 0.5) if a >= 0 else -int(-a * 100 + 0.5),
                                q.askQ,
                            ),
                        )
                    )
                ohlc = _bars(mff.marketOHLC.ohlc)
                vtt = mff.vtt
                oi = int(mff.oi)
                append_tick(
                    new(
                        tick_cls,
                        (
                            key,
                            mode,
                            ts_event,
                            ts_init,
                            ltp,
                            lt.ltt * ms,
                            lt.ltq,
                            cp,
                            vtt,
                            atp,
                            oi,
                            int(mff.tbq),
                            int(mff.tsq),
                            tuple(depth),
                            tuple(ohlc),
                        ),
                    )
                )
                if mff.HasField("optionGreeks") and (
                    bounds is None or _greeks_ok(mff.iv, mff.optionGreeks, key, rejected)
                ):
                    g = mff.optionGreeks
                    append_greeks(
                        new(
                            greeks_cls,
                            (
                                key,
                                ts_event,
                                ts_init,
                                ltp,
                                mff.iv,
                                g.delta,
                                g.gamma,
                                g.theta,
                                g.vega,
                                g.rho,
                                oi,
                                vtt,
                            ),
                        )
                    )
            else:
                iff = full.indexFF
                lt = iff.ltpc
                x = lt.ltp
                ltp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
                x = lt.cp
                cp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
                ohlc = _bars(iff.marketOHLC.ohlc)
                append_tick(
                    new(
                        tick_cls,
                        (
                            key,
                            mode,
                            ts_event,
                            ts_init,
                            ltp,
                            lt.ltt * ms,
                            lt.ltq,
                            cp,
                            0,
                            0,
                            0,
                            0,
                            0,
                            (),
                            tuple(ohlc),
                        ),
                    )
                )
        elif which == "ltpc":
            lt = feed.ltpc
            x = lt.ltp
            ltp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
            x = lt.cp
            cp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
            append_tick(
                new(
                    tick_cls,
                    (
                        key,
                        ltpc_mode,
                        ts_event,
                        ts_init,
                        ltp,
                        lt.ltt * ms,
                        lt.ltq,
                        cp,
                        0,
                        0,
                        0,
                        0,
                        0,
                        (),
                        (),
                    ),
                )
            )
        elif which == "firstLevelWithGreeks":
            fl = feed.firstLevelWithGreeks
            lt = fl.ltpc
            x = lt.ltp
            ltp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
            x = lt.cp
            cp = int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)
            q = fl.firstDepth
            b = q.bidP
            a = q.askP
            level = new(
                depth_cls,
                (
                    int(b * 100 + 0.5) if b >= 0 else -int(-b * 100 + 0.5),
                    q.bidQ,
                    int(a * 100 + 0.5) if a >= 0 else -int(-a * 100 + 0.5),
                    q.askQ,
                ),
            )
            vtt = fl.vtt
            oi = int(fl.oi)
            append_tick(
                new(
                    tick_cls,
                    (
                        key,
                        greeks_mode,
                        ts_event,
                        ts_init,
                        ltp,
                        lt.ltt * ms,
                        lt.ltq,
                        cp,
                        vtt,
                        0,
                        oi,
                        0,
                        0,
                        (level,),
                        (),
                    ),
                )
            )
            g = fl.optionGreeks
            if bounds is not None and not _greeks_ok(fl.iv, g, key, rejected):
                continue
            append_greeks(
                new(
                    greeks_cls,
                    (
                        key,
                        ts_event,
                        ts_init,
                        ltp,
                        fl.iv,
                        g.delta,
                        g.gamma,
                        g.theta,
                        g.vega,
                        g.rho,
                        oi,
                        vtt,
                    ),
                )
            )
        # A feed with no payload (oneof unset) carries nothing to decode.


# -- the checks of quant.upstox.checks, rule for rule (quant_wire's lib.rs mirrors them) ----


def _checked(
    feeds: object, ts_event_ms: int, b: TickBounds, rejected: list[tuple[str, str]] | None
) -> Iterable[tuple[str, Any, str | None]]:
    """The feeds that pass :mod:`quant.upstox.checks`; the others go to ``rejected``."""
    out = []
    for key, feed in feeds.items():  # type: ignore[attr-defined]
        which = feed.WhichOneof("FeedUnion")
        if which is None:
            continue
        reason = _reason(key, feed, which, ts_event_ms, b)
        if reason is None:
            out.append((key, feed, which))
        elif rejected is not None:
            rejected.append((key, reason))
    return out


class _View(NamedTuple):
    """The parts of one feed entry the checks look at, whatever its kind."""

    lt: Any
    atp: float
    ints: tuple[int, ...]
    floats: tuple[float, ...]
    levels: Sequence[Any]
    bars: Sequence[Any]


def _view(feed: Any, which: str) -> _View:
    if which == "ltpc":
        return _View(feed.ltpc, 0.0, (), (), (), ())
    if which == "firstLevelWithGreeks":
        fl = feed.firstLevelWithGreeks
        return _View(fl.ltpc, 0.0, (fl.vtt,), (fl.oi,), (fl.firstDepth,), ())
    full = feed.fullFeed
    if full.WhichOneof("FullFeedUnion") == "marketFF":
        m = full.marketFF
        floats = (m.oi, m.tbq, m.tsq)
        return _View(m.ltpc, m.atp, (m.vtt,), floats, m.marketLevel.bidAskQuote, m.marketOHLC.ohlc)
    iff = full.indexFF
    return _View(iff.ltpc, 0.0, (), (), (), iff.marketOHLC.ohlc)


def _reason(key: str, feed: Any, which: str, ts_ms: int, b: TickBounds) -> str | None:
    """The first rule ``feed`` breaks, or ``None``."""
    if b.known is not None and key not in b.known:
        return "unknown_key"
    v = _view(feed, which)
    return _timestamps(v, ts_ms, b) or _prices(v, b) or _quantities(v, b)


def _timestamps(v: _View, ts_ms: int, b: TickBounds) -> str | None:
    lo, hi = b.ltt_lo_ms, b.ts_hi_ms
    if not b.ts_lo_ms <= ts_ms <= hi:
        return "timestamp"
    for t in (v.lt.ltt, *(c.ts for c in v.bars)):
        if t != 0 and not lo <= t <= hi:
            return "timestamp"
    return None


def _prices(v: _View, b: TickBounds) -> str | None:
    lim = float(b.max_price_paise + 1)
    reason = _price(v.lt.ltp, lim, required=True)
    if reason is not None:
        return reason
    optional = [v.lt.cp, v.atp]
    for q in v.levels:
        optional += (q.bidP, q.askP)
    for c in v.bars:
        optional += (c.open, c.high, c.low, c.close)
    for x in optional:
        reason = _price(x, lim, required=False)
        if reason is not None:
            return reason
    return None


def _quantities(v: _View, b: TickBounds) -> str | None:
    qmax = b.max_quantity
    qlim = float(qmax + 1)
    ints = [v.lt.ltq, *v.ints]
    for q in v.levels:
        ints += (q.bidQ, q.askQ)
    ints += (c.vol for c in v.bars)
    # the order of rule 4: ltq, vtt, the doubles, then levels, then bars (same verdict
    # whichever fails first: every failure here is "quantity")
    if not all(0 <= n <= qmax for n in ints):
        return "quantity"
    if not all(0.0 <= x < qlim for x in v.floats):
        return "quantity"
    return None


def _price(x: float, lim: float, *, required: bool) -> str | None:
    """``price`` / ``price_band`` / ``None`` for ``x`` rupees (rule 3)."""
    if x != x or x in (_INF, -_INF):
        return "price"
    p = x * 100.0 + 0.5
    if (p < 1.0) if required else (x < 0.0):
        return "price"
    if p >= lim:
        return "price_band"
    return None


def _greeks_ok(iv: float, g: Any, key: str, rejected: list[tuple[str, str]] | None) -> bool:
    """Rule 5: every greek and ``iv`` finite (else recorded as ``greeks``)."""
    if all(math.isfinite(v) for v in (iv, g.delta, g.gamma, g.theta, g.vega, g.rho)):
        return True
    if rejected is not None:
        rejected.append((key, "greeks"))
    return False


def encode_request(method: str, keys: Iterable[str], mode: FeedMode | None = None) -> bytes:
    """Build a subscription request (``sub``/``unsub``/``change_mode``) as a binary frame."""
    data: dict[str, object] = {"instrumentKeys": list(keys)}
    if mode is not None:
        data["mode"] = mode.wire_name
    request = {"guid": uuid.uuid4().hex[:20], "method": method, "data": data}
    return json.dumps(request, separators=(",", ":")).encode()
