"""Coarser candles from finer ones: N-minute bars and daily bars from 1-minute candles.

Pure functions over :class:`~quant.core.events.Candle` rows (oldest first, as the tick
store's ``candles`` returns them). N-minute buckets are aligned on the IST clock to the
NSE session open: a bucket starts at 09:15 + k*N minutes of its IST day (k may be
negative, so a pre-open minute lands in the bucket before 09:15). For 5 and 15 minutes
that is the same as the IST wall clock; for 30 or 60 minutes the bars are
09:15-09:45/10:15, not 09:00/09:30. A day bar starts at 00:00 IST of its day, as the
day candles Upstox and ``quant backfill`` store (``interval_seconds`` 86400).

An aggregated bar's open is its first candle's open, close its last candle's close, high
and low the extremes, volume and trade count the sums, open interest the last. Called by
the gateway's candles endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from quant.analytics.candles import IST_OFFSET_NS
from quant.core.events import Candle

MINUTE_NS = 60 * 1_000_000_000
DAY_NS = 24 * 60 * MINUTE_NS
DAY_SECONDS = 86_400
#: 09:15 IST, the NSE session open, in minutes after midnight
SESSION_OPEN_MINUTE = 9 * 60 + 15


def ist_day_start_ns(ts_ns: int) -> int:
    """00:00 IST of the IST day containing ``ts_ns`` (UTC ns)."""
    return (ts_ns + IST_OFFSET_NS) // DAY_NS * DAY_NS - IST_OFFSET_NS


def bucket_start_ns(ts_ns: int, minutes: int, origin_minute: int = SESSION_OPEN_MINUTE) -> int:
    """Start of the ``minutes``-long bucket containing ``ts_ns``: buckets of an IST day
    start at ``origin_minute`` (minutes after 00:00 IST) + k * ``minutes``."""
    if minutes <= 0:
        raise ValueError(f"a bucket is at least one minute long, not {minutes}")
    origin = ist_day_start_ns(ts_ns) + origin_minute * MINUTE_NS
    width = minutes * MINUTE_NS
    return origin + (ts_ns - origin) // width * width


def resample_minutes(
    candles: Sequence[Candle], minutes: int, origin_minute: int = SESSION_OPEN_MINUTE
) -> list[Candle]:
    """``minutes``-minute candles from finer ``candles`` (oldest first), session-aligned."""
    return _aggregate(candles, lambda ts: bucket_start_ns(ts, minutes, origin_minute), minutes * 60)


def daily_from_minutes(candles: Sequence[Candle]) -> list[Candle]:
    """One candle per IST day (``ts_start`` 00:00 IST) from intraday ``candles``."""
    return _aggregate(candles, ist_day_start_ns, DAY_SECONDS)


def _aggregate(
    candles: Sequence[Candle], bucket: Callable[[int], int], interval_seconds: int
) -> list[Candle]:
    out: list[Candle] = []
    current: Candle | None = None
    for c in candles:
        start = bucket(c.ts_start)
        if (
            current is not None
            and current.ts_start == start
            and current.instrument_key == c.instrument_key
        ):
            current = current._replace(
                high=max(current.high, c.high),
                low=min(current.low, c.low),
                close=c.close,
                volume=current.volume + c.volume,
                oi=c.oi,
                trade_count=current.trade_count + c.trade_count,
            )
            continue
        if current is not None:
            out.append(current)
        current = c._replace(interval_seconds=interval_seconds, ts_start=start)
    if current is not None:
        out.append(current)
    return out
