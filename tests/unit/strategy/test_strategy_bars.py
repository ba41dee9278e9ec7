"""BarBuilder (1-minute -> IST-aligned N-minute bars) and MinuteBarBuilder (ticks -> 1-minute)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from strategy_kit import KEY, KEY2, MIN, SEC, candle, ist, tick

from quant.analytics.candles import candles_from_ticks
from quant.analytics.features import volume_deltas
from quant.core.events import Candle, FeedMode
from quant.trading.strategy import BarBuilder, MinuteBarBuilder


def test_five_minute_bars_from_the_0915_open_hand_checked() -> None:
    b = BarBuilder(5)
    minutes = [  # (hh, mm, o, h, l, c, v)
        (9, 15, 100, 105, 99, 104, 10),
        (9, 16, 104, 106, 103, 103, 20),
        (9, 17, 103, 103, 95, 96, 30),
        (9, 18, 96, 100, 96, 99, 40),
        (9, 19, 99, 101, 98, 100, 50),  # completes 09:15-09:20
        (9, 20, 100, 100, 90, 91, 5),
        (9, 22, 91, 93, 91, 92, 6),  # 09:21 had no trade
    ]
    out: list[Candle] = []
    for hh, mm, o, h, lo, c, v in minutes:
        out += b.add(candle(hh, mm, o, h, lo, c, v, oi=mm, n=2))
    assert out == [Candle(KEY, 300, ist(9, 15), 100, 106, 95, 100, 150, 19, 10)]
    assert b.next_due_ns() == ist(9, 25)
    assert b.close_due(ist(9, 24, 59)) == []
    assert b.close_due(ist(9, 25)) == [Candle(KEY, 300, ist(9, 20), 100, 100, 90, 92, 11, 22, 4)]
    assert b.flush() == []


def test_a_candle_of_a_later_bucket_closes_the_open_bar() -> None:
    b = BarBuilder(15)
    assert b.add(candle(9, 20, 10, 12, 9, 11)) == []
    assert b.add(candle(9, 31, 11, 11, 11, 11)) == [
        Candle(KEY, 900, ist(9, 15), 10, 12, 9, 11, 100, 0, 1)
    ]
    assert b.flush() == [Candle(KEY, 900, ist(9, 30), 11, 11, 11, 11, 100, 0, 1)]


@pytest.mark.parametrize(
    ("minutes", "at", "start", "end"),
    [
        (1, (9, 15), (9, 15), (9, 16)),
        (15, (9, 29), (9, 15), (9, 30)),
        (30, (9, 50), (9, 45), (10, 15)),
        (60, (9, 15), (9, 15), (10, 15)),
        (60, (14, 59), (14, 15), (15, 15)),
        (60, (15, 20), (15, 15), (15, 30)),  # the day's last bar ends at the close
        (75, (15, 29), (14, 15), (15, 30)),
        (5, (9, 8), (9, 5), (9, 10)),  # pre-open minutes count back from 09:15
        (375, (15, 29), (9, 15), (15, 30)),  # the whole session
    ],
)
def test_buckets_are_aligned_to_the_ist_session_open(
    minutes: int, at: tuple[int, int], start: tuple[int, int], end: tuple[int, int]
) -> None:
    assert BarBuilder(minutes).bucket(ist(*at)) == (ist(*start), ist(*end))


def test_the_last_hourly_bar_completes_with_the_1529_candle() -> None:
    b = BarBuilder(60)
    for mm in range(15, 29):
        assert b.add(candle(15, mm, 200, 201, 199, 200, 1)) == []
    (bar,) = b.add(candle(15, 29, 200, 210, 200, 205, 1))
    assert (bar.interval_seconds, bar.ts_start, bar.high, bar.close, bar.volume) == (
        3600,
        ist(15, 15),
        210,
        205,
        15,
    )


def test_bars_are_kept_per_instrument_and_days_do_not_mix() -> None:
    b = BarBuilder(5)
    nxt = date(2026, 12, 8)
    assert b.add(candle(15, 28, 1, 1, 1, 1, key=KEY)) == []
    assert b.add(candle(15, 28, 7, 7, 7, 7, key=KEY2)) == []
    (done,) = b.add(candle(9, 15, 2, 2, 2, 2, key=KEY, day=nxt))
    assert done == Candle(KEY, 300, ist(15, 25), 1, 1, 1, 1, 100, 0, 1)
    assert b.close_due(ist(15, 30)) == [Candle(KEY2, 300, ist(15, 25), 7, 7, 7, 7, 100, 0, 1)]


def test_duplicate_and_late_candles_are_dropped_and_counted() -> None:
    b = BarBuilder(5)
    b.add(candle(9, 16, 10, 10, 10, 10))
    assert b.add(candle(9, 16, 10, 10, 10, 10)) == []  # redelivered
    assert b.add(candle(9, 15, 9, 9, 9, 9)) == []  # late
    assert b.dropped == 2
    (bar,) = b.flush()
    assert (bar.open, bar.volume) == (10, 100)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"whole number 1\.\.375"):
        BarBuilder(0)
    with pytest.raises(ValueError, match="takes 1-minute candles"):
        BarBuilder(5).add(Candle(KEY, 300, ist(9, 15), 1, 1, 1, 1, 1))


def test_minute_candles_from_ticks_hand_checked() -> None:
    m = MinuteBarBuilder()
    t0 = ist(9, 15)
    out: list[Candle] = []
    for ts, ltp, vol in [
        (t0 + 1 * SEC, 100, 1_000),  # the day's first volume: a baseline, 0 traded
        (t0 + 20 * SEC, 102, 1_010),
        (t0 + 30 * SEC, 0, 1_015),  # no price: left out, its 5 traded with it
        (t0 + 59 * SEC, 99, 1_030),
        (t0 + 61 * SEC, 101, 1_031),  # closes 09:15
        (t0 + 150 * SEC, 103, 1_040),  # closes 09:16; 09:17 open
    ]:
        out += m.add(tick(ts, ltp, volume=vol, oi=ltp))
    assert out == [
        Candle(KEY, 60, t0, 100, 102, 99, 99, 25, 99, 2),
        Candle(KEY, 60, t0 + MIN, 101, 101, 101, 101, 1, 101, 1),
    ]
    assert m.next_due_ns() == t0 + 3 * MIN
    assert m.close_due(t0 + 3 * MIN) == [
        Candle(KEY, 60, t0 + 2 * MIN, 103, 103, 103, 103, 9, 103, 1)
    ]


def test_ltpc_ticks_count_their_last_traded_quantity_when_the_trade_time_moves() -> None:
    m = MinuteBarBuilder()
    t0 = ist(10, 0)
    for ts, ltt, ltq in [(1, 100, 5), (2, 100, 5), (3, 200, 7), (4, 300, 2)]:
        m.add(tick(t0 + ts * SEC, 500, mode=FeedMode.LTPC, ltt=ltt, ltq=ltq))
    (c,) = m.flush()
    assert (c.volume, c.trade_count) == (9, 2)  # first sets the baseline; a repeat adds nothing


def test_minute_candles_match_the_feature_engines_on_a_random_day() -> None:
    rng = random.Random(7)
    ts, ltp, vol = [], [], []
    t, price, cum = ist(9, 15), 250_000, 0
    for _ in range(3_000):
        t += rng.randint(1, 4_000) * 1_000_000
        price = max(100, price + rng.randint(-50, 50))
        cum += rng.choice((0, 0, rng.randint(1, 500)))
        ts.append(t)
        ltp.append(price if rng.random() > 0.01 else 0)
        vol.append(cum)
    m = MinuteBarBuilder()
    ours: list[Candle] = []
    for a, b, c in zip(ts, ltp, vol, strict=True):
        ours += m.add(tick(a, b, volume=c, oi=c))
    ours += m.flush()
    expected = candles_from_ticks(KEY, ts, ltp, volume_deltas(vol), vol)
    assert ours == expected
    assert len(ours) > 50


@pytest.mark.parametrize("minutes", [5, 15])
def test_n_minute_bars_match_the_engines_candles_of_that_interval(minutes: int) -> None:
    # 5 and 15 divide 09:15's minute of the day, so the engine's IST-midnight alignment and
    # the 09:15 origin give the same buckets
    rng = random.Random(minutes)
    ts, ltp, vol = [], [], []
    t, price, cum = ist(9, 15), 50_000, 0
    while t < ist(15, 29):
        t += rng.randint(1, 20_000) * 1_000_000
        price = max(100, price + rng.randint(-20, 20))
        cum += rng.randint(0, 300)
        ts.append(t)
        ltp.append(price)
        vol.append(cum)
    ts, ltp, vol = ts[:-1], ltp[:-1], vol[:-1]
    minute, bars = MinuteBarBuilder(), BarBuilder(minutes)
    ours: list[Candle] = []
    for a, b, c in zip(ts, ltp, vol, strict=True):
        for one in minute.add(tick(a, b, volume=c, oi=c)):
            ours += bars.add(one)
    for one in minute.flush():
        ours += bars.add(one)
    ours += bars.flush()
    expected = candles_from_ticks(KEY, ts, ltp, volume_deltas(vol), vol, minutes * 60)
    assert ours == expected
    assert len(ours) == 375 // minutes
