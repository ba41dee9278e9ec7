"""Black-76 implied volatility: a safeguarded Halley solver on Jäckel's normalised price.

Every option is first reduced to the out-of-the-money *normalised time value*
``b(x, s) = e^{x/2} Φ(x/s + s/2) - e^{-x/2} Φ(x/s - s/2)`` with ``x = -|ln(F/K)| <= 0`` and
``s = σ√T`` (put-call parity makes the time value of a call and a put at one strike equal,
and ``b(x) = b_put(-x)``). ``b`` rises from 0 to ``e^{x/2}`` in ``s``, is convex below the
inflection point ``s_c = sqrt(2|x|)`` and concave above it (Jäckel, "Let's be rational",
2013/2016). Below ``b(s_c)`` we solve ``ln b = ln β`` in ``u = 1/s²`` (nearly linear there),
starting from the tail asymptote of ``b``; above it ``ln(b_max - b) = ln(b_max - β)`` in ``s``
starting at ``s_c``, with ``b_max - b`` computed without cancellation. The second derivative
is free: ``b'' = b' (x²/s³ - s/4)``, so each step is a third-order Halley step. A bracket
kept from the residual signs catches any step that leaves it (bisection), so the solver
converges for every price strictly inside the no-arbitrage bounds; prices outside give NaN.

Called by :mod:`quant.analytics.black76` (public API) and the feature engine's option path.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from quant.analytics.implied_vol_scalar import implied_vol_scalar
from quant.analytics.normal import INV_SQRT_2PI, FloatArray, norm_cdf

BoolArray = npt.NDArray[np.bool_]

_MAX_ITERATIONS = 64
_REL_TOL = 1e-14
# A Halley step this small (relative) leaves an error ~ its cube: below double precision.
_STEP_TOL = 1e-5
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def normalised_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """Jäckel's normalised undiscounted call ``b(x, s)`` (price / sqrt(F K)), elementwise."""
    h = x / s
    half = 0.5 * s
    result: FloatArray = np.exp(0.5 * x) * norm_cdf(h + half) - np.exp(-0.5 * x) * norm_cdf(
        h - half
    )
    return result


def _halley_step(
    x: FloatArray, s: FloatArray, beta: FloatArray, gap_beta: FloatArray, lower: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """One Halley step; returns (objective value, with the sign of ``b - β``; new ``s``).

    Lower region: ``f = ln b - ln β`` in ``u = 1/s²`` (nearly linear there). Upper region:
    ``g = ln(b_max - β) - ln(b_max - b)`` in ``s`` with ``b_max = e^{x/2}``, where
    ``b_max - b = e^{x/2} Φ(-d1) + e^{-x/2} Φ(d2)`` is computed without cancellation.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = x / s
        half = 0.5 * s
        d1 = h + half
        # One erfc pass: Φ(d1) (lower) or Φ(-d1) (upper), and Φ(d2).
        q = norm_cdf(np.concatenate((np.where(lower, d1, -d1), h - half)))
        n = s.shape[0]
        q1, q2 = q[:n], q[n:]
        ex = np.exp(0.5 * x)
        emx = 1.0 / ex
        b1 = INV_SQRT_2PI * np.exp(-0.5 * h * h - 0.125 * s * s)
        b2 = b1 * (h * h / s - 0.25 * s)
        b = np.where(lower, ex * q1 - emx * q2, 1.0)
        gap = np.where(lower, 1.0, ex * q1 + emx * q2)
        fs_lower = b1 / b
        fs_upper = b1 / gap
        f = np.where(lower, np.log(b) - np.log(beta), np.log(gap_beta) - np.log(gap))
        fs = np.where(lower, fs_lower, fs_upper)
        fss = np.where(lower, b2 / b - fs_lower * fs_lower, b2 / gap + fs_upper * fs_upper)
        # Lower region: change variable to u = 1/s² (ds/du = -s³/2, d²s/du² = 3 s⁵/4).
        s3 = s * s * s
        f1 = np.where(lower, -0.5 * s3 * fs, fs)
        f2 = np.where(lower, 0.25 * s3 * s3 * fss + 0.75 * s3 * s * s * fs, fss)
        newton = -f / f1
        denom = 1.0 + 0.5 * newton * f2 / f1
        step = np.where((denom > 0.5) & np.isfinite(denom), newton / denom, newton)
        u_new = 1.0 / (s * s) + step
        s_new = np.where(lower, np.where(u_new > 0.0, 1.0 / np.sqrt(u_new), np.inf), s + step)
    return f, s_new


def _initial_guess(x: FloatArray, beta: FloatArray, sc: FloatArray, lower: BoolArray) -> FloatArray:
    """Starting ``s``: the tail asymptote far out of the money, Corrado-Miller elsewhere.

    Tail: for ``s << |x|`` Mills' ratio gives ``b ≈ s³/x² · exp(-x²/(2s²)) / sqrt(2π)``, so
    ``s² = x² / (2 (3 ln s - ln(x² sqrt(2π)) - ln β))``; two passes from ``|x|/sqrt(-2 ln β)``,
    used where they agree to 5%. Corrado-Miller (1996) in normalised units (``F = e^{x/2}``,
    ``K = e^{-x/2}``) covers the rest. The guess is clipped to its region's side of ``s_c``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x2 = x * x
        log_beta = np.log(beta)
        c = np.log(x2 * _SQRT_2PI) + log_beta
        s0 = np.sqrt(-0.5 * x2 / log_beta)
        s1 = np.sqrt(0.5 * x2 / np.maximum(3.0 * np.log(s0) - c, 1e-300))
        tail = np.sqrt(0.5 * x2 / np.maximum(3.0 * np.log(s1) - c, 1e-300))
        use_tail = lower & np.isfinite(tail) & (np.abs(tail - s1) <= 0.05 * tail)
        diff = 2.0 * np.sinh(0.5 * x)  # F - K
        a = beta - 0.5 * diff
        cm = (
            _SQRT_2PI
            / (2.0 * np.cosh(0.5 * x))
            * (a + np.sqrt(np.maximum(a * a - diff * diff / np.pi, 0.0)))
        )
        s = np.where(use_tail, tail, cm)
        s = np.where(lower, np.clip(s, 1e-3 * sc, sc), np.maximum(s, sc))
    result: FloatArray = np.where(np.isfinite(s) & (s > 0.0), s, np.maximum(sc, 1e-8))
    return result


def solve_normalised(x: FloatArray, beta: FloatArray) -> FloatArray:
    """Solve ``b(x, s) = beta`` for ``s``; requires ``x <= 0`` and ``0 < beta < e^{x/2}``."""
    n = x.shape[0]
    sc = np.sqrt(-2.0 * x)
    # b at the inflection point: d1 = 0 there, so b_c = e^{x/2}/2 - e^{-x/2} Φ(-s_c).
    bc = 0.5 * np.exp(0.5 * x) - np.exp(-0.5 * x) * norm_cdf(-sc)
    lower = beta < bc
    gap_beta = np.exp(0.5 * x) - beta
    s = _initial_guess(x, beta, sc, lower)
    # The root lies below s_c in the lower region and above it in the upper one.
    lo = np.where(lower, 0.0, sc)
    hi = np.where(lower, sc, np.inf)
    out = np.full(n, np.nan)
    idx = np.arange(n)
    for _ in range(_MAX_ITERATIONS):
        resid, s_new = _halley_step(x, s, beta, gap_beta, lower)
        above = resid > 0.0
        hi = np.where(above, np.minimum(hi, s), hi)
        lo = np.where(above, lo, np.maximum(lo, s))
        done = (np.abs(s_new - s) <= _STEP_TOL * s) | (resid == 0.0) | (hi - lo <= _REL_TOL * s)
        bad = ~done & (~np.isfinite(s_new) | (s_new <= lo) | (s_new >= hi))
        if bad.any():
            bisect = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * np.maximum(s, lo))
            s_new = np.where(bad, bisect, s_new)
        if done.any():
            out[idx[done]] = np.where(resid[done] == 0.0, s[done], s_new[done])
            keep = ~done
            idx, x, beta, gap_beta, lower = (a[keep] for a in (idx, x, beta, gap_beta, lower))
            s, lo, hi = s_new[keep], lo[keep], hi[keep]
            if idx.size == 0:
                break
        else:
            s = s_new
    return out


def implied_vol_array(
    price: npt.ArrayLike,
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    rate: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Black-76 implied vol of discounted prices, elementwise (arguments broadcast).

    Returns NaN where the inputs are invalid (non-positive forward/strike/time, NaN) or the
    price lies outside the no-arbitrage bounds ``intrinsic <= price < upper`` (call upper
    bound ``F e^{-rT}``, put ``K e^{-rT}``); exactly intrinsic gives 0.0.
    """
    p, f, k, t, r, c = np.broadcast_arrays(
        np.asarray(price, dtype=np.float64),
        np.asarray(forward, dtype=np.float64),
        np.asarray(strike, dtype=np.float64),
        np.asarray(t_years, dtype=np.float64),
        np.asarray(rate, dtype=np.float64),
        np.asarray(is_call, dtype=np.bool_),
    )
    shape = p.shape
    p, f, k, t, r, c = (a.ravel() for a in (p, f, k, t, r, c))
    out = np.full(p.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        valid = (f > 0.0) & (k > 0.0) & (t > 0.0) & np.isfinite(p) & np.isfinite(r) & (p >= 0.0)
        valid &= np.isfinite(f) & np.isfinite(k) & np.isfinite(t)
        x = np.log(f / k)
        undiscounted = p * np.exp(r * t)
        intrinsic = np.maximum(np.where(c, f - k, k - f), 0.0)
        tv = (undiscounted - intrinsic) / np.sqrt(f * k)
        xt = -np.abs(x)
        valid &= (tv >= 0.0) & (tv < np.exp(0.5 * xt))
    zero = valid & (tv == 0.0)
    out[zero] = 0.0
    solve = valid & (tv > 0.0)
    if solve.any():
        s = solve_normalised(xt[solve], tv[solve])
        out[solve] = s / np.sqrt(t[solve])
    return out.reshape(shape)


def implied_vol(
    price: float, forward: float, strike: float, t_years: float, rate: float, is_call: bool
) -> float:
    """Black-76 implied vol of one discounted price; NaN outside the no-arbitrage bounds.

    Runs the scalar twin of the solver (:mod:`quant.analytics.implied_vol_scalar`).
    """
    return implied_vol_scalar(price, forward, strike, t_years, rate, is_call)
