"""How long a backfill takes under Upstox's rate limits, and its ETA (pure).

Every historical-candle request counts against the standard bucket: 50 per second, 500
per minute and 2,000 per 30 minutes (UPSTOX.md §3). The first window dominates small
jobs, the minute window jobs of a few hundred requests, and the 30-minute window any job
above 2,000 requests: 6,600 requests (2,200 names, 3 months of minutes) need at least 1.5
hours however fast the server answers. :func:`limit_seconds` is the earliest time the
``n``-th request can start when all ``n`` go as fast as the windows allow;
:func:`eta_seconds` is the larger of that bound (for what is left) and the pace seen so
far, so the progress bar's ETA tells the truth before the 30-minute window bites.
"""

from __future__ import annotations

from collections.abc import Sequence

from quant.upstox.ratelimit import STANDARD_WINDOWS, RateWindow


def limit_seconds(n: int, windows: Sequence[RateWindow] = STANDARD_WINDOWS) -> float:
    """The earliest start of the ``n``-th request from an idle start (0 for n <= 1)."""
    if n <= 1:
        return 0.0
    return max((n - 1) // w.limit * w.seconds for w in windows)


def ceiling_rate(n: int, windows: Sequence[RateWindow] = STANDARD_WINDOWS) -> float:
    """The most requests per second ``n`` requests can average under ``windows``."""
    fastest = max(limit_seconds(n, windows), n / max(w.limit / w.seconds for w in windows))
    return n / fastest if fastest > 0 else float("inf")


def eta_seconds(
    done: int, total: int, elapsed_s: float, windows: Sequence[RateWindow] = STANDARD_WINDOWS
) -> float | None:
    """Seconds left for ``total`` requests after ``done`` in ``elapsed_s``; None before
    the first answer (no pace yet) unless the limits alone say it will take a while."""
    left = total - done
    if left <= 0:
        return 0.0
    by_limits = max(limit_seconds(total, windows) - elapsed_s, 0.0)
    if done == 0 or elapsed_s <= 0:
        return by_limits or None
    return max(by_limits, left * elapsed_s / done)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
