"""The feed decoders' value checks (:mod:`quant.upstox.checks`): each rule, and agreement.

Unit tests per rejection reason run on whichever decoders are present (the upb one always,
the native one when ``quant_wire`` is installed: under ``CI=true`` it must be). The
property test draws frames mixing good ticks with hostile values (NaN, infinities,
negatives, zero, 1e17, huge integers, timestamps decades away, unknown keys) and checks
that the native and the upb decoder accept the same ticks and name the same reason for
every rejection, and that nothing they accept is out of range.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import require
from quant.core.clock import IST, NS_PER_MS, datetime_to_ns
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.upstox import wire
from quant.upstox.checks import REASONS, FeedChecks, RejectionLog, TickBounds, TickLimits

# Tuesday 2026-12-08, 10:00 IST: the previous trading day is Monday the 7th, the next
# Wednesday the 9th.
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=IST)
NOW_MS = datetime_to_ns(NOW) // NS_PER_MS
CHECKS = FeedChecks(TickLimits())
KNOWN = frozenset({"NSE_EQ|A", "NSE_EQ|B", "NSE_FO|C", "NSE_INDEX|D"})
BOUNDS = CHECKS.bounds(NOW_MS * NS_PER_MS, KNOWN)
MAX_PAISE = BOUNDS.max_price_paise
MAX_QTY = BOUNDS.max_quantity

DECODERS = [pytest.param(wire.decode_frame_python, id="python")]
if wire.DECODER == "native":
    DECODERS.append(pytest.param(wire.decode_frame_native, id="native"))


def test_native_decoder_is_present_in_ci() -> None:
    require(wire.DECODER == "native", "the native decoder quant_wire is not installed")


def market_frame(key: str = "NSE_EQ|A", ts_ms: int = NOW_MS, **values: Any) -> bytes:
    """A full-mode equity feed with good values, some replaced by ``values``."""
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=ts_ms)
    m = msg.feeds[key].fullFeed.marketFF
    m.ltpc.ltp = values.get("ltp", 1234.5)
    m.ltpc.ltt = values.get("ltt", NOW_MS - 5)
    m.ltpc.ltq = values.get("ltq", 10)
    m.ltpc.cp = values.get("cp", 1200.0)
    m.atp = values.get("atp", 1230.0)
    m.vtt = values.get("vtt", 100_000)
    m.oi = values.get("oi", 0.0)
    m.tbq = values.get("tbq", 5000.0)
    m.tsq = values.get("tsq", 6000.0)
    m.marketLevel.bidAskQuote.add(
        bidQ=values.get("bidQ", 100),
        bidP=values.get("bidP", 1234.0),
        askQ=values.get("askQ", 200),
        askP=values.get("askP", 1235.0),
    )
    m.marketOHLC.ohlc.add(
        interval="1d",
        open=values.get("open", 1220.0),
        high=1240.0,
        low=1210.0,
        close=1234.5,
        vol=values.get("vol", 999),
        ts=values.get("bar_ts", NOW_MS - 3_600_000),
    )
    if "iv" in values or "delta" in values:
        m.iv = values.get("iv", 0.2)
        m.optionGreeks.delta = values.get("delta", 0.5)
    return msg.SerializeToString()


def decode(decoder: Any, data: bytes, bounds: TickBounds = BOUNDS) -> wire.FeedFrame:
    frame: wire.FeedFrame = decoder(data, NOW_MS * NS_PER_MS, bounds)
    return frame


@pytest.mark.parametrize("decoder", DECODERS)
def test_a_good_tick_passes(decoder: Any) -> None:
    frame = decode(decoder, market_frame())
    assert len(frame.ticks) == 1 and frame.rejected == ()
    assert frame.ticks[0].ltp == 123450


CASES = [
    ("unknown_key", {"key": "NSE_EQ|ZZZ"}),
    ("timestamp", {"ts_ms": 0}),
    ("timestamp", {"ts_ms": -1}),
    ("timestamp", {"ts_ms": NOW_MS + 40 * 86_400_000}),  # weeks ahead
    ("timestamp", {"ts_ms": NOW_MS - 5 * 86_400_000}),  # before the previous session
    ("timestamp", {"ltt": NOW_MS + 3 * 86_400_000}),
    ("timestamp", {"ltt": 1}),
    ("timestamp", {"bar_ts": 2**62}),
    ("price", {"ltp": 0.0}),
    ("price", {"ltp": -0.0}),
    ("price", {"ltp": -5.0}),
    ("price", {"ltp": 0.004}),  # rounds to 0 paise
    ("price", {"ltp": math.nan}),
    ("price", {"ltp": math.inf}),
    ("price", {"ltp": -math.inf}),
    ("price", {"cp": -1.0}),
    ("price", {"atp": math.nan}),
    ("price", {"bidP": -0.5}),
    ("price", {"askP": math.inf}),
    ("price", {"open": math.nan}),
    ("price_band", {"ltp": 1e17}),
    ("price_band", {"ltp": 1e300}),
    ("price_band", {"ltp": 10_000_000.01}),
    ("price_band", {"cp": 1e17}),
    ("price_band", {"askP": 1e17}),
    ("quantity", {"ltq": -1}),
    ("quantity", {"vtt": 2**63 - 1}),
    ("quantity", {"vtt": -(2**63)}),
    ("quantity", {"oi": math.nan}),
    ("quantity", {"oi": 1e30}),
    ("quantity", {"tbq": -1.0}),
    ("quantity", {"tsq": math.inf}),
    ("quantity", {"bidQ": -5}),
    ("quantity", {"askQ": 10**13}),
    ("quantity", {"vol": -1}),
]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize(("reason", "values"), CASES, ids=[f"{r}-{v}" for r, v in CASES])
def test_each_rule_drops_the_tick_with_its_reason(
    decoder: Any, reason: str, values: dict[str, Any]
) -> None:
    key = values.get("key", "NSE_EQ|A")
    frame = decode(decoder, market_frame(**values))
    assert frame.ticks == [] and frame.greeks == []
    assert frame.rejected == ((key, reason),)


@pytest.mark.parametrize("decoder", DECODERS)
def test_edges_of_the_bands_are_accepted(decoder: Any) -> None:
    frame = decode(
        decoder,
        market_frame(
            ltp=0.01, cp=0.0, atp=0.0, bidP=0.0, bidQ=0, askP=10_000_000.0, ltt=0, bar_ts=0,
            vtt=MAX_QTY, oi=float(MAX_QTY), ltq=0,
        ),
    )  # fmt: skip
    assert frame.rejected == ()
    tick = frame.ticks[0]
    assert (tick.ltp, tick.depth[0].ask_price, tick.volume, tick.oi) == (
        1,
        MAX_PAISE,
        MAX_QTY,
        MAX_QTY,
    )


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_greeks_drop_the_greeks_only(decoder: Any, bad: float) -> None:
    frame = decode(decoder, market_frame(key="NSE_FO|C", delta=bad))
    assert len(frame.ticks) == 1 and frame.greeks == []
    assert frame.rejected == (("NSE_FO|C", "greeks"),)
    ok = decode(decoder, market_frame(key="NSE_FO|C", delta=0.4, iv=0.3))
    assert len(ok.greeks) == 1 and ok.rejected == ()


@pytest.mark.parametrize("decoder", DECODERS)
def test_one_bad_tick_does_not_cost_the_frame(decoder: Any) -> None:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=NOW_MS)
    for key, ltp in [("NSE_EQ|A", 100.0), ("NSE_EQ|B", 1e17), ("NSE_FO|C", -3.0)]:
        msg.feeds[key].ltpc.ltp = ltp
    msg.feeds["NSE_INDEX|D"].fullFeed.indexFF.ltpc.ltp = 24_000.5
    msg.feeds["NSE_EQ|X"].ltpc.ltp = 10.0  # not subscribed
    frame = decode(decoder, msg.SerializeToString())
    assert sorted(t.instrument_key for t in frame.ticks) == ["NSE_EQ|A", "NSE_INDEX|D"]
    assert sorted(frame.rejected) == [
        ("NSE_EQ|B", "price_band"),
        ("NSE_EQ|X", "unknown_key"),
        ("NSE_FO|C", "price"),
    ]


@pytest.mark.parametrize("decoder", DECODERS)
def test_without_a_known_set_any_key_passes(decoder: Any) -> None:
    open_keys = CHECKS.bounds(NOW_MS * NS_PER_MS, None)
    assert decode(decoder, market_frame(key="ANY|thing"), open_keys).rejected == ()


def test_session_window_spans_the_previous_and_next_sessions() -> None:
    lo, hi, ltt_lo = CHECKS.window_ms(NOW_MS * NS_PER_MS)
    # 09:00 IST on Monday 7th less an hour; 16:00 IST on Wednesday 9th plus an hour
    assert lo == datetime_to_ns(datetime(2026, 12, 7, 8, 0, tzinfo=IST)) // NS_PER_MS
    assert hi == datetime_to_ns(datetime(2026, 12, 9, 17, 0, tzinfo=IST)) // NS_PER_MS
    assert lo - ltt_lo == 30 * 86_400_000
    # on a Saturday: Friday's session to Monday's
    sat = datetime_to_ns(datetime(2026, 12, 12, 12, 0, tzinfo=IST))
    lo, hi, _ = FeedChecks().window_ms(sat)
    assert lo == datetime_to_ns(datetime(2026, 12, 11, 8, 0, tzinfo=IST)) // NS_PER_MS
    assert hi == datetime_to_ns(datetime(2026, 12, 14, 17, 0, tzinfo=IST)) // NS_PER_MS
    assert date(2026, 12, 12).weekday() == 5


def test_rejection_log_counts_every_reason_and_logs_at_most_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = RejectionLog(interval_s=10.0)
    second = 1_000_000_000
    for i in range(50):
        log.add([("k", "price"), ("k2", "timestamp")], i * second // 10)  # 5 s
    assert log.counts == {"price": 50, "timestamp": 50}
    assert len([r for r in caplog.records if "dropped out-of-range" in r.message]) == 1
    log.add([("k", "quantity")], 11 * second)
    assert len([r for r in caplog.records if "dropped out-of-range" in r.message]) == 2


# -- property: the two decoders agree on hostile frames ---------------------------------

HOSTILE_FLOATS = [1e17, math.nan, -1.0, 0.0, 1e308, math.inf, -0.0, -math.inf, -1e17, 5e-324]
HOSTILE_INTS = [2**63 - 1, -1, 10**13, -(2**63), 2**53 + 1]
HOSTILE_TS = [0, -1, 1, 2**63 - 1, -(2**63), NOW_MS + 10 * 86_400_000, NOW_MS - 365 * 86_400_000]
good_price = st.integers(1, 5_000_000).map(lambda k: k / 100)
good_qty = st.integers(0, 10**7)
good_ts = st.integers(NOW_MS - 3_600_000, NOW_MS)


def sometimes(
    good: st.SearchStrategy[Any], hostile: list[Any], odds: int = 4
) -> st.SearchStrategy[Any]:
    """Mostly ``good``, one draw in ``odds + 1`` from ``hostile``."""
    return st.one_of(*[good] * odds, st.sampled_from(hostile))


class Values:
    """The value strategies of one feed: good, but for the ``hostile`` kinds of value,
    which are now and then (one in four) hostile."""

    def __init__(self, hostile: set[str]) -> None:
        def pick(kind: str, good: st.SearchStrategy[Any], bad: list[Any]) -> Any:
            return sometimes(good, bad, 3) if kind in hostile else good

        self.price = pick("price", good_price, HOSTILE_FLOATS)
        self.qty = pick("qty", good_qty, HOSTILE_INTS)
        self.fqty = pick("qty", good_qty.map(float), HOSTILE_FLOATS)
        self.ts = pick("ts", good_ts, HOSTILE_TS)
        self.greek = pick("greek", st.floats(-5, 5), [math.nan, math.inf, -math.inf])


def fill(feed: pb.Feed, d: st.DataObject) -> None:
    kind = d.draw(st.sampled_from(["ltpc", "market", "index", "first", "unset_full", "none"]))
    v = Values({d.draw(st.sampled_from(["none", "price", "qty", "ts", "greek"]))})

    def ltpc(m: pb.LTPC) -> None:
        m.ltp, m.cp = d.draw(v.price), d.draw(v.price)
        m.ltt, m.ltq = d.draw(v.ts), d.draw(v.qty)

    def bars(m: pb.MarketOHLC) -> None:
        for _ in range(d.draw(st.integers(0, 2))):
            m.ohlc.add(
                interval="I1",
                open=d.draw(v.price),
                high=d.draw(v.price),
                low=d.draw(v.price),
                close=d.draw(v.price),
                vol=d.draw(v.qty),
                ts=d.draw(v.ts),
            )

    def quote(q: pb.Quote) -> None:
        q.bidP, q.askP = d.draw(v.price), d.draw(v.price)
        q.bidQ, q.askQ = d.draw(v.qty), d.draw(v.qty)

    def greeks(g: pb.OptionGreeks) -> None:
        g.delta, g.theta, g.gamma, g.vega, g.rho = (d.draw(v.greek) for _ in range(5))

    if kind == "ltpc":
        ltpc(feed.ltpc)
    elif kind == "market":
        m = feed.fullFeed.marketFF
        ltpc(m.ltpc)
        for _ in range(d.draw(st.integers(0, 3))):
            quote(m.marketLevel.bidAskQuote.add())
        bars(m.marketOHLC)
        if d.draw(st.booleans()):
            greeks(m.optionGreeks)
        m.atp, m.iv = d.draw(v.price), d.draw(v.greek)
        m.vtt, m.oi, m.tbq, m.tsq = d.draw(v.qty), d.draw(v.fqty), d.draw(v.fqty), d.draw(v.fqty)
    elif kind == "index":
        ltpc(feed.fullFeed.indexFF.ltpc)
        bars(feed.fullFeed.indexFF.marketOHLC)
    elif kind == "first":
        f = feed.firstLevelWithGreeks
        ltpc(f.ltpc)
        quote(f.firstDepth)
        greeks(f.optionGreeks)
        f.vtt, f.oi, f.iv = d.draw(v.qty), d.draw(v.fqty), d.draw(v.greek)
    elif kind == "unset_full":
        feed.fullFeed.SetInParent()


@st.composite
def hostile_frames(draw: st.DrawFn) -> bytes:
    d = draw(st.data())
    now = draw(sometimes(st.just(NOW_MS), HOSTILE_TS, 19))
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=now)
    chosen = draw(st.permutations(sorted(KNOWN)))[: draw(st.integers(1, len(KNOWN)))]
    if draw(st.integers(0, 3)) == 0:
        chosen.append(draw(st.sampled_from(["NSE_EQ|unknown", "", "BSE_EQ|Z"])))
    for key in chosen:
        fill(msg.feeds[key], d)
    return msg.SerializeToString()


def canonical(frame: wire.FeedFrame) -> str:
    ticks = sorted(frame.ticks, key=lambda t: t.instrument_key)
    greeks = sorted(frame.greeks, key=lambda g: g.instrument_key)
    return repr((frame.ts_event, ticks, greeks, sorted(frame.rejected)))


def assert_in_range(frame: wire.FeedFrame) -> None:
    """Nothing accepted is out of range (the point of the checks)."""
    lo, hi = BOUNDS.ts_lo_ms * NS_PER_MS, BOUNDS.ts_hi_ms * NS_PER_MS
    for t in frame.ticks:
        assert t.instrument_key in KNOWN and lo <= t.ts_event <= hi
        assert 1 <= t.ltp <= MAX_PAISE
        prices = [t.close_price, t.atp]
        prices += [p for lv in t.depth for p in (lv.bid_price, lv.ask_price)]
        prices += [p for b in t.ohlc for p in (b.open, b.high, b.low, b.close)]
        assert all(0 <= p <= MAX_PAISE for p in prices)
        qtys = [t.ltq, t.volume, t.oi, t.total_buy_quantity, t.total_sell_quantity]
        qtys += [q for lv in t.depth for q in (lv.bid_quantity, lv.ask_quantity)]
        qtys += [b.volume for b in t.ohlc]
        assert all(0 <= q <= MAX_QTY for q in qtys)
        assert t.ltt_ns == 0 or BOUNDS.ltt_lo_ms * NS_PER_MS <= t.ltt_ns <= hi
    for g in frame.greeks:
        assert all(math.isfinite(x) for x in (g.iv, g.delta, g.gamma, g.theta, g.vega, g.rho))
    assert {r for _, r in frame.rejected} <= set(REASONS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_frames())
def test_native_and_python_decoders_agree_on_hostile_frames(data: bytes) -> None:
    python = decode(wire.decode_frame_python, data)
    assert_in_range(python)
    if wire.DECODER != "native":
        return  # the agreement half needs quant_wire (required under CI=true, above)
    native = decode(wire.decode_frame_native, data)
    assert canonical(native) == canonical(python)


def test_without_the_session_window_timestamps_need_only_be_positive() -> None:
    checks = FeedChecks(TickLimits(session_window=False))
    bounds = checks.bounds(NOW_MS * NS_PER_MS, KNOWN)
    far = market_frame(ts_ms=NOW_MS - 400 * 86_400_000)  # a replay of last year
    assert wire.decode_frame_python(far, 0, bounds).rejected == ()
    zero = market_frame(ts_ms=0)
    assert wire.decode_frame_python(zero, 0, bounds).rejected == (("NSE_EQ|A", "timestamp"),)


def test_the_ingestor_takes_its_limits_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from quant.ingestor.settings import IngestorSettings

    monkeypatch.setenv("QUANT_TICK_LIMITS__MAX_PRICE_RUPEES", "500000")
    monkeypatch.setenv("QUANT_TICK_LIMITS__SESSION_WINDOW", "false")
    limits = IngestorSettings().tick_limits
    assert (limits.max_price_rupees, limits.session_window) == (500_000, False)
    assert limits.max_quantity == TickLimits().max_quantity
