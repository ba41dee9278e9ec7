"""The momentum scanner's signals: pure numpy functions over the whole universe at once.

Every array holds one row per instrument (``n`` names), float64, prices in rupees (signal
math only: events and orders keep integer paise). NaN means *unknown*: a signal whose input
is unknown (NaN, a non-positive price, too little history) is NaN for that name; nothing
raises and nothing warns. Price signals are in **percent** (``0.4`` = 0.4 %), ratios are
plain ratios. Higher is more bullish for every signal except :func:`range_contraction`,
where a *lower* value (a tighter recent range) is the pre-breakout setup.

==============  ===========================================  ==========
name            formula                                      unit
==============  ===========================================  ==========
``orb``         beyond the opening range, signed             %
``high_dist``   ``last / max(high, N sessions) - 1``         %
``rel_volume``  ``volume / median(same-time volume, L)``     ratio
``rel_strength`` stock day change - NIFTY 50 day change      % points
``gap``         ``open / prev_close - 1``                    %
``vwap_dist``   ``last / vwap - 1``                          %
``roc``         ``last / close k minutes ago - 1``           %
``contraction`` short-window range / long-window range       ratio 0-1
==============  ===========================================  ==========

A daily window needs at least half of its sessions known (NaN-padded history of a newly
listed name gives NaN rather than a misleading "20-day" figure).

Called by :mod:`quant.scanner` (each cycle) and its evaluate replay; see docs/scanner.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

SIGNAL_NAMES: tuple[str, ...] = (
    "orb",
    "high_dist",
    "rel_volume",
    "rel_strength",
    "gap",
    "vwap_dist",
    "roc",
    "contraction",
)

SIGNAL_UNITS: dict[str, str] = {
    "orb": "%",
    "high_dist": "%",
    "rel_volume": "x",
    "rel_strength": "pp",
    "gap": "%",
    "vwap_dist": "%",
    "roc": "%",
    "contraction": "ratio",
}
"""Unit of each signal's value, for tables ("pp": percentage points against NIFTY 50)."""

_NAN = np.float64(np.nan)


@dataclass(frozen=True)
class ScanInputs:
    """One cycle's inputs for ``n`` names (see the module docstring for units)."""

    last: FloatArray
    """(n,) last traded price."""
    prev_close: FloatArray
    """(n,) previous session's close."""
    day_open: FloatArray
    """(n,) today's open."""
    vwap: FloatArray
    """(n,) today's average traded price (the quote's ``average_price``)."""
    volume: FloatArray
    """(n,) today's cumulative volume so far."""
    or_high: FloatArray
    """(n,) opening-range high (the first ``or_minutes`` one-minute bars); NaN until complete."""
    or_low: FloatArray
    """(n,) opening-range low; NaN until complete."""
    daily_high: FloatArray
    """(n, D) previous D sessions' highs, oldest -> newest, NaN-padded on the left."""
    daily_low: FloatArray
    """(n, D) previous D sessions' lows."""
    daily_close: FloatArray
    """(n, D) previous D sessions' closes."""
    daily_volume: FloatArray
    """(n, D) previous D sessions' volumes."""
    same_time_volume: FloatArray
    """(n, L) cumulative volume up to this minute of day on each of the previous L sessions."""
    minute_close: FloatArray
    """(n, M) today's one-minute closes up to now, oldest -> newest, NaN-padded on the left."""
    index_last: float
    """NIFTY 50 last value."""
    index_prev_close: float
    """NIFTY 50 previous close."""

    def __post_init__(self) -> None:
        n = np.shape(self.last)
        if len(n) != 1:
            raise ValueError(f"ScanInputs.last must be 1-D (n,), got shape {n}")
        for name in ("prev_close", "day_open", "vwap", "volume", "or_high", "or_low"):
            shape = np.shape(getattr(self, name))
            if shape != n:
                raise ValueError(f"ScanInputs.{name} has shape {shape}, expected {n}")
        for name in (
            "daily_high",
            "daily_low",
            "daily_close",
            "daily_volume",
            "same_time_volume",
            "minute_close",
        ):
            shape = np.shape(getattr(self, name))
            if len(shape) != 2 or shape[0] != n[0]:
                raise ValueError(f"ScanInputs.{name} has shape {shape}, expected ({n[0]}, k)")
        fields = ("daily_high", "daily_low", "daily_close", "daily_volume")
        days = {np.shape(getattr(self, f))[1] for f in fields}
        if len(days) != 1:
            raise ValueError(f"ScanInputs daily_* arrays disagree on D: {sorted(days)}")

    @property
    def n(self) -> int:
        """Number of names."""
        return int(np.shape(self.last)[0])


@dataclass(frozen=True)
class SignalParams:
    """Lookbacks of the signals that have one."""

    high_days: int = 20
    """N of the N-day high (sessions)."""
    roc_minutes: int = 15
    """Rate-of-change lookback (one-minute bars)."""
    contraction_short: int = 5
    """Recent window of the range contraction (sessions)."""
    contraction_long: int = 20
    """Reference window of the range contraction (sessions)."""

    def __post_init__(self) -> None:
        for name in ("high_days", "roc_minutes", "contraction_short", "contraction_long"):
            if getattr(self, name) < 1:
                raise ValueError(f"SignalParams.{name} must be >= 1, got {getattr(self, name)}")
        if self.contraction_short > self.contraction_long:
            raise ValueError(
                "SignalParams.contraction_short must not exceed contraction_long, got "
                f"{self.contraction_short} > {self.contraction_long}"
            )


def _f(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=np.float64)


def _positive(a: npt.ArrayLike) -> FloatArray:
    """``a`` with non-positive or infinite values as NaN (a price of 0 is "no trade yet")."""
    x = _f(a)
    return np.where((x > 0) & (x < np.inf), x, _NAN)


def _pct(num: FloatArray, den: FloatArray) -> FloatArray:
    """``(num / den - 1) * 100`` for positive prices, else NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = (_positive(num) / _positive(den) - 1.0) * 100.0
    return out


def _window(a: npt.ArrayLike, k: int) -> FloatArray:
    """The newest ``k`` columns of an (n, D) history (all of them when D < k)."""
    x = _f(a)
    return x[:, max(x.shape[1] - k, 0) :]


def _enough(w: FloatArray, k: int) -> npt.NDArray[np.bool_]:
    """Rows of a window with at least half of its ``k`` sessions known (and at least one)."""
    known = np.count_nonzero(~np.isnan(w), axis=1)
    need = max((k + 1) // 2, 1)
    enough: npt.NDArray[np.bool_] = known >= need
    return enough


def row_max(w: FloatArray) -> FloatArray:
    """Per-row max ignoring NaN; NaN for an all-NaN (or empty) row, without a warning."""
    if w.shape[1] == 0:
        return np.full(w.shape[0], np.nan)
    out: FloatArray = np.fmax.reduce(w, axis=1)
    return out


def row_min(w: FloatArray) -> FloatArray:
    """Per-row min ignoring NaN; NaN for an all-NaN (or empty) row, without a warning."""
    if w.shape[1] == 0:
        return np.full(w.shape[0], np.nan)
    out: FloatArray = np.fmin.reduce(w, axis=1)
    return out


def row_median(w: FloatArray) -> FloatArray:
    """Per-row median ignoring NaN; NaN for an all-NaN row (``np.nanmedian`` warns there)."""
    rows, cols = w.shape
    if cols == 0:
        return np.full(rows, np.nan)
    s = np.sort(w, axis=1)  # NaN sorts last
    known = np.count_nonzero(~np.isnan(s), axis=1)
    lo = np.maximum((known - 1) // 2, 0)
    hi = np.maximum(known // 2, 0)
    r = np.arange(rows)
    med: FloatArray = (s[r, lo] + s[r, np.minimum(hi, cols - 1)]) / 2.0
    return np.where(known > 0, med, _NAN)


# --- the signals ------------------------------------------------------------------------


def orb(last: FloatArray, or_high: FloatArray, or_low: FloatArray) -> FloatArray:
    """Opening-range breakout, in percent beyond the range's nearer edge.

    ``(last / or_high - 1) * 100`` when ``last > or_high`` (a breakout, positive),
    ``(last / or_low - 1) * 100`` when ``last < or_low`` (a breakdown, negative), and ``0``
    inside the range. NaN while the range is incomplete (NaN), or when a price is not
    positive or ``or_low > or_high``.

    A trader reads it as "price has left the first 15 minutes' range, and by how much".
    """
    p, hi, lo = _positive(last), _positive(or_high), _positive(or_low)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = (p / hi - 1.0) * 100.0
        down = (p / lo - 1.0) * 100.0
    out = np.where(p > hi, up, np.where(p < lo, down, 0.0))
    bad = np.isnan(p) | np.isnan(hi) | np.isnan(lo) | (lo > hi)
    result: FloatArray = np.where(bad, _NAN, out)
    return result


def high_distance(last: FloatArray, daily_high: FloatArray, days: int = 20) -> FloatArray:
    """Distance to the N-day high, in percent: ``(last / max(high over N sessions) - 1) * 100``.

    The max is over the newest ``days`` columns of ``daily_high`` (previous sessions, not
    today). Negative: below the high (``-0.4`` = 0.4 % below); positive: trading above
    it (a new N-day high). NaN with fewer than half of the N sessions known.

    Momentum names trade at or just below their highs.
    """
    w = _window(daily_high, days)
    high = np.where(_enough(w, days), row_max(w), _NAN)
    return _pct(_f(last), high)


def relative_volume(volume: FloatArray, same_time_volume: FloatArray) -> FloatArray:
    """Today's volume so far against the usual volume by this time of day: a ratio.

    ``volume / median(same_time_volume)``, the median over the previous L sessions' cumulative
    volume up to the same minute of day (NaN sessions ignored). NaN when no session is known,
    the median is 0, or today's volume is unknown or negative.

    ``3.1`` means three times the usual activity for this time: someone is interested.
    """
    med = row_median(_f(same_time_volume))
    v = _f(volume)
    v = np.where((v >= 0) & (v < np.inf), v, _NAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = v / np.where(med > 0, med, _NAN)
    return out


def relative_strength(
    last: FloatArray, prev_close: FloatArray, index_last: float, index_prev_close: float
) -> FloatArray:
    """Day change against NIFTY 50's, in percentage points.

    ``(last / prev_close - 1) * 100 - (index_last / index_prev_close - 1) * 100``. NaN when
    either the stock's or the index's prices are unknown or not positive.

    ``+1.8`` = the stock is up 1.8 points more than the market today.
    """
    stock = _pct(_f(last), _f(prev_close))
    index = _pct(_f([index_last]), _f([index_prev_close]))[0]
    out: FloatArray = stock - index
    return out


def gap(day_open: FloatArray, prev_close: FloatArray) -> FloatArray:
    """Opening gap in percent: ``(day_open / prev_close - 1) * 100``; NaN if unknown.

    A gap up on news or results is where many momentum days start.
    """
    return _pct(_f(day_open), _f(prev_close))


def vwap_distance(last: FloatArray, vwap: FloatArray) -> FloatArray:
    """Price against today's VWAP in percent: ``(last / vwap - 1) * 100``; NaN if unknown.

    Above VWAP, today's buyers on average hold a profit: intraday strength.
    """
    return _pct(_f(last), _f(vwap))


def rate_of_change(last: FloatArray, minute_close: FloatArray, minutes: int = 15) -> FloatArray:
    """Recent momentum in percent: ``(last / c - 1) * 100``, ``c = minute_close[:, -1 - k]``.

    ``minute_close[:, -1]`` is the newest one-minute bar's close, so ``c`` is the close
    ``k = minutes`` bars before it (the price about ``k`` minutes ago). NaN when that bar does
    not exist yet (fewer than ``k + 1`` bars today) or a price is unknown.

    Short-term thrust: how fast price is moving right now.
    """
    m = _f(minute_close)
    if m.shape[1] < minutes + 1:
        return np.full(m.shape[0], np.nan)
    return _pct(_f(last), m[:, -1 - minutes])


def range_contraction(
    daily_high: FloatArray, daily_low: FloatArray, short: int = 5, long: int = 20
) -> FloatArray:
    """Range contraction, a ratio in [0, 1]: the recent range over the longer one's.

    ``(max high - min low over the newest `short` sessions) / (max high - min low over the
    newest `long` sessions)``. NaN when either window has fewer than half of its sessions
    known or the long range is 0.

    A low value (``0.3``: the last week spans a third of the month's range) is a tight base
    that often precedes a breakout ("volatility contraction"); lower is better here.
    """
    hs, ls = _window(daily_high, short), _window(daily_low, short)
    hl, ll = _window(daily_high, long), _window(daily_low, long)
    ok = _enough(hs, short) & _enough(ls, short) & _enough(hl, long) & _enough(ll, long)
    r_short = row_max(hs) - row_min(ls)
    r_long = row_max(hl) - row_min(ll)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = r_short / np.where(r_long > 0, r_long, _NAN)
    out: FloatArray = np.where(ok & (r_short >= 0), ratio, _NAN)
    return out


def compute_signals(
    inputs: ScanInputs, params: SignalParams = SignalParams()
) -> dict[str, FloatArray]:
    """Every signal for every name: ``{name: (n,) array}`` in :data:`SIGNAL_NAMES` order."""
    i = inputs
    return {
        "orb": orb(i.last, i.or_high, i.or_low),
        "high_dist": high_distance(i.last, i.daily_high, params.high_days),
        "rel_volume": relative_volume(i.volume, i.same_time_volume),
        "rel_strength": relative_strength(i.last, i.prev_close, i.index_last, i.index_prev_close),
        "gap": gap(i.day_open, i.prev_close),
        "vwap_dist": vwap_distance(i.last, i.vwap),
        "roc": rate_of_change(i.last, i.minute_close, params.roc_minutes),
        "contraction": range_contraction(
            i.daily_high, i.daily_low, params.contraction_short, params.contraction_long
        ),
    }
