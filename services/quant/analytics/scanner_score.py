"""The scanner's composite score, its top N, the reasons a trader reads, and the liquidity filter.

Each signal of :mod:`quant.analytics.scanner_signals` is put on a common scale across the
universe by a robust z-score, ``z = clip((x - median) / (1.4826 * MAD), -3, 3)`` (the
median and MAD over the names where the signal is known; when the MAD is 0, as for the
opening-range breakout while most names are still inside their range, the mean absolute
deviation times 1.2533 stands in; when that is 0 too, every known value scores 0). The
range contraction is negated first (tighter is better). The composite score is the
weighted mean of a name's known z-scores, ``Σ w·z / Σ |w|`` over its known signals, and NaN
when the known signals carry less than ``min_known_weight`` of the total weight. Everything
is a function of the set of names, not of their order.

Called by :mod:`quant.scanner` (each cycle) and its evaluate replay; see docs/scanner.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from quant.analytics.scanner_signals import SIGNAL_NAMES, FloatArray, SignalParams, row_median

Z_CLIP = 3.0
"""Robust z-scores are clipped to ``[-Z_CLIP, Z_CLIP]``: one extreme name cannot dominate."""

LOWER_IS_BETTER = frozenset({"contraction"})
"""Signals negated before scoring."""

DEFAULT_PARAMS = SignalParams()
"""The signal lookbacks the reasons quote when none are given."""

_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution = 0.6745 sigma
_MEANAD_TO_SIGMA = 1.2533  # mean absolute deviation of a normal = 0.7979 sigma


@dataclass(frozen=True)
class ScoreWeights:
    """Weight of each signal in the composite score (0 leaves a signal out)."""

    orb: float = 1.0
    high_dist: float = 1.0
    rel_volume: float = 1.0
    rel_strength: float = 1.0
    gap: float = 0.5
    vwap_dist: float = 0.5
    roc: float = 0.5
    contraction: float = 0.5

    def __post_init__(self) -> None:
        for name, w in asdict(self).items():
            if not np.isfinite(w):
                raise ValueError(f"ScoreWeights.{name} must be a finite number, got {w!r}")

    def as_dict(self) -> dict[str, float]:
        """``{signal name: weight}`` in :data:`SIGNAL_NAMES` order."""
        d = asdict(self)
        return {name: float(d[name]) for name in SIGNAL_NAMES}


def robust_z(x: FloatArray) -> FloatArray:
    """Cross-sectional robust z-score of one signal, clipped; NaN (and +-inf) give NaN."""
    x = np.asarray(x, dtype=np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    known = x[~np.isnan(x)]
    if known.size == 0:
        return np.full(x.shape, np.nan)
    med = float(np.median(known))
    dev = np.abs(known - med)
    scale = _MAD_TO_SIGMA * float(np.median(dev))
    if scale <= 0.0:
        scale = _MEANAD_TO_SIGMA * float(np.mean(dev))
    if scale <= 0.0:
        return np.where(np.isnan(x), np.nan, 0.0)
    z: FloatArray = np.clip((x - med) / scale, -Z_CLIP, Z_CLIP)
    return z


def normalised(signals: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """Every signal's robust z-score, oriented so that higher is better (contraction negated)."""
    return {
        name: robust_z(-values if name in LOWER_IS_BETTER else values)
        for name, values in _checked(signals).items()
    }


def _checked(signals: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    missing = [name for name in SIGNAL_NAMES if name not in signals]
    if missing:
        raise ValueError(f"signals missing {missing}; expected all of {list(SIGNAL_NAMES)}")
    out = {name: np.asarray(signals[name], dtype=np.float64) for name in SIGNAL_NAMES}
    shapes = {name: a.shape for name, a in out.items()}
    if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 1:
        raise ValueError(f"signals must be 1-D arrays of one length, got shapes {shapes}")
    return out


def composite_score(
    signals: Mapping[str, FloatArray],
    weights: ScoreWeights = ScoreWeights(),
    *,
    min_known_weight: float = 0.5,
    z: Mapping[str, FloatArray] | None = None,
) -> FloatArray:
    """Composite score per name, ``Σ w·z / Σ |w|`` over its known signals (module docstring).

    NaN for a name whose known signals carry less than ``min_known_weight`` (a fraction) of
    the total absolute weight. ``z`` may pass :func:`normalised` ``(signals)`` if already
    computed. Returns an (n,) array; higher is better.
    """
    zs = normalised(signals) if z is None else z
    w = weights.as_dict()
    total = sum(abs(v) for v in w.values())
    n = next(iter(zs.values())).shape[0] if zs else 0
    if total == 0.0:
        raise ValueError("ScoreWeights are all 0: nothing to score")
    num = np.zeros(n)
    den = np.zeros(n)
    for name in SIGNAL_NAMES:
        if w[name] == 0.0:
            continue
        zn = zs[name]
        known = ~np.isnan(zn)
        num += np.where(known, w[name] * zn, 0.0)
        den += np.where(known, abs(w[name]), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = num / den
    out: FloatArray = np.where((den > 0) & (den >= min_known_weight * total), score, np.nan)
    return out


def top_n(score: FloatArray, n: int) -> npt.NDArray[np.int64]:
    """Indices of the ``n`` highest scores, best first; NaN never picked; ties by lower index."""
    if n < 0:
        raise ValueError(f"top_n needs n >= 0, got {n}")
    s = np.asarray(score, dtype=np.float64)
    idx = np.flatnonzero(~np.isnan(s))
    order = np.lexsort((idx, -s[idx]))  # the last key is the primary one
    out: npt.NDArray[np.int64] = idx[order[:n]].astype(np.int64)
    return out


def _phrase(
    name: str, v: float, *, minute_label: str, or_minutes: int, params: SignalParams
) -> str | None:
    """The reason for one signal value, or None when it is not notable (see docs/scanner.md)."""
    if name == "orb" and v >= 0.05:
        return f"broke the {or_minutes}-min opening range by {v:.1f}%"
    if name == "high_dist":
        days = params.high_days
        if v >= 0.05:
            return f"new {days}-day high, {v:.1f}% above the previous"
        if v > -0.05:
            return f"at the {days}-day high"
        if v >= -3.0:
            return f"{-v:.1f}% below the {days}-day high"
    if name == "rel_volume" and v >= 1.5:
        return f"relative volume {v:.1f}x for {minute_label}"
    if name == "rel_strength" and v >= 0.5:
        return f"+{v:.1f}% vs NIFTY"
    if name == "gap" and v >= 0.5:
        return f"gap up {v:.1f}%"
    if name == "vwap_dist" and v >= 0.3:
        return f"{v:.1f}% above VWAP"
    if name == "roc" and v >= 0.3:
        return f"+{v:.1f}% in {params.roc_minutes} min"
    if name == "contraction" and v <= 0.6:
        return f"range contracted to {v:.2f} of its {params.contraction_long}-day width"
    return None


def reasons(
    signals: Mapping[str, FloatArray],
    i: int,
    *,
    minute_label: str,
    or_minutes: int = 15,
    params: SignalParams = DEFAULT_PARAMS,
    weights: ScoreWeights = ScoreWeights(),
    z: Mapping[str, FloatArray] | None = None,
    limit: int = 4,
) -> tuple[str, ...]:
    """Readable reasons for name ``i``: its ``limit`` most important notable bullish signals.

    A signal is notable past a fixed threshold (breakout >= 0.05 %, within 3 % of the N-day
    high, relative volume >= 1.5x, >= +0.5 % vs NIFTY, gap up >= 0.5 %, >= 0.3 % above VWAP,
    rate of change >= +0.3 %, contraction <= 0.6). Importance is the signal's contribution
    to the score, ``weight * z``; ties keep :data:`SIGNAL_NAMES` order. NaN signals say
    nothing; at most ``limit`` phrases. ``minute_label`` is the cycle's IST time ("10:25");
    pass ``z`` = :func:`normalised` ``(signals)`` to avoid recomputing it for every pick.
    """
    zs = normalised(signals) if z is None else z
    w = weights.as_dict()
    found: list[tuple[float, int, str]] = []
    for k, name in enumerate(SIGNAL_NAMES):
        v = float(signals[name][i])
        if np.isnan(v):
            continue
        text = _phrase(name, v, minute_label=minute_label, or_minutes=or_minutes, params=params)
        if text is not None:
            zi = float(zs[name][i])
            found.append((-(w[name] * zi) if not np.isnan(zi) else 0.0, k, text))
    found.sort()
    return tuple(text for _, _, text in found[: max(limit, 0)])


def liquid(
    last: FloatArray,
    daily_close: FloatArray,
    daily_volume: FloatArray,
    *,
    min_price: float,
    min_turnover: float,
) -> npt.NDArray[np.bool_]:
    """Names worth scanning: ``last >= min_price`` and median daily turnover >= ``min_turnover``.

    Turnover is ``close * volume`` per session (rupees), its median over the sessions known
    in the (n, D) history. Unknown price or no known session: not liquid.
    """
    if min_price < 0 or min_turnover < 0:
        raise ValueError(
            f"liquid needs min_price >= 0 and min_turnover >= 0, got {min_price}, {min_turnover}"
        )
    turnover = row_median(
        np.asarray(daily_close, dtype=np.float64) * np.asarray(daily_volume, dtype=np.float64)
    )
    p = np.asarray(last, dtype=np.float64)
    ok: npt.NDArray[np.bool_] = (p > 0) & (p >= min_price) & (turnover >= min_turnover)
    return ok
