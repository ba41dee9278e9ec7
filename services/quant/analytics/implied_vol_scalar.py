"""Scalar twin of :mod:`quant.analytics.implied_vol` for one option at a time.

Same reduction, initial guess, objectives and safeguards as the vectorised solver, written
with :mod:`math` so that a single option costs microseconds instead of numpy's per-call
overhead. Called by :func:`quant.analytics.black76.implied_vol` (the simulator prices one
option per quote; the feature engine uses the vectorised solver).
"""

from __future__ import annotations

import math

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / _SQRT_2PI
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_MAX_ITERATIONS = 64
_STEP_TOL = 1e-5
_REL_TOL = 1e-14


def _cdf(z: float) -> float:
    return 0.5 * math.erfc(-z * _INV_SQRT_2)


def _guess(x: float, beta: float, sc: float, lower: bool) -> float:
    """Tail asymptote (lower region, where self-consistent) or Corrado-Miller."""
    s = math.nan
    if lower and x < 0.0:
        x2 = x * x
        log_beta = math.log(beta)
        c = math.log(x2 * _SQRT_2PI) + log_beta
        s0 = math.sqrt(-0.5 * x2 / log_beta)
        s1 = math.sqrt(0.5 * x2 / max(3.0 * math.log(s0) - c, 1e-300))
        tail = math.sqrt(0.5 * x2 / max(3.0 * math.log(s1) - c, 1e-300))
        if abs(tail - s1) <= 0.05 * tail:
            s = tail
    if math.isnan(s):
        diff = 2.0 * math.sinh(0.5 * x)
        a = beta - 0.5 * diff
        root = math.sqrt(max(a * a - diff * diff / math.pi, 0.0))
        s = _SQRT_2PI / (2.0 * math.cosh(0.5 * x)) * (a + root)
    s = min(max(s, 1e-3 * sc), sc) if lower else max(s, sc)
    return s if math.isfinite(s) and s > 0.0 else max(sc, 1e-8)


def _step(x: float, s: float, beta: float, gap_beta: float, lower: bool) -> tuple[float, float]:
    """(objective with the sign of b - β, next s) - see ``implied_vol._halley_step``."""
    h = x / s
    half = 0.5 * s
    ex = math.exp(0.5 * x)
    emx = 1.0 / ex
    b1 = _INV_SQRT_2PI * math.exp(-0.5 * h * h - 0.125 * s * s)
    b2 = b1 * (h * h / s - 0.25 * s)
    if lower:
        b = ex * _cdf(h + half) - emx * _cdf(h - half)
        if b <= 0.0:
            return -math.inf, math.inf
        f = math.log(b) - math.log(beta)
        fs = b1 / b
        fss = b2 / b - fs * fs
        s3 = s * s * s
        f1 = -0.5 * s3 * fs
        f2 = 0.25 * s3 * s3 * fss + 0.75 * s3 * s * s * fs
    else:
        gap = ex * _cdf(-h - half) + emx * _cdf(h - half)
        if gap <= 0.0:
            return math.inf, -math.inf
        f = math.log(gap_beta) - math.log(gap)
        fs = b1 / gap
        f1 = fs
        f2 = b2 / gap + fs * fs
    if f1 == 0.0 or not math.isfinite(f1):
        return f, math.nan
    newton = -f / f1
    denom = 1.0 + 0.5 * newton * f2 / f1
    step = newton / denom if denom > 0.5 and math.isfinite(denom) else newton
    if lower:
        u_new = 1.0 / (s * s) + step
        return f, (1.0 / math.sqrt(u_new) if u_new > 0.0 else math.inf)
    return f, s + step


def solve_normalised_scalar(x: float, beta: float) -> float:
    """Solve ``b(x, s) = beta`` for one option; ``x <= 0``, ``0 < beta < e^{x/2}``."""
    sc = math.sqrt(-2.0 * x)
    bc = 0.5 * math.exp(0.5 * x) - math.exp(-0.5 * x) * _cdf(-sc)
    lower = beta < bc
    gap_beta = math.exp(0.5 * x) - beta
    s = _guess(x, beta, sc, lower)
    lo, hi = (0.0, sc) if lower else (sc, math.inf)
    for _ in range(_MAX_ITERATIONS):
        resid, s_new = _step(x, s, beta, gap_beta, lower)
        if resid > 0.0:
            hi = min(hi, s)
        else:
            lo = max(lo, s)
        if resid == 0.0:
            return s
        if abs(s_new - s) <= _STEP_TOL * s or hi - lo <= _REL_TOL * s:
            return s_new
        if not math.isfinite(s_new) or s_new <= lo or s_new >= hi:
            s_new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * max(s, lo)
        s = s_new
    return math.nan


def implied_vol_scalar(
    price: float, forward: float, strike: float, t_years: float, rate: float, is_call: bool
) -> float:
    """Black-76 implied vol of one discounted price (NaN outside no-arbitrage bounds)."""
    values = (price, forward, strike, t_years, rate)
    if not all(math.isfinite(v) for v in values):
        return math.nan
    if forward <= 0.0 or strike <= 0.0 or t_years <= 0.0 or price < 0.0:
        return math.nan
    x = math.log(forward / strike)
    intrinsic = max(forward - strike if is_call else strike - forward, 0.0)
    tv = (price * math.exp(rate * t_years) - intrinsic) / math.sqrt(forward * strike)
    xt = -abs(x)
    if tv < 0.0 or tv >= math.exp(0.5 * xt):
        return math.nan
    if tv == 0.0:
        return 0.0
    return solve_normalised_scalar(xt, tv) / math.sqrt(t_years)
