"""IV + greeks for a 2,000-option chain: ours vs py_vollib_vectorized vs scalar py_vollib.

Runs in the separate bench venv (``bench/setup_bench_env.sh``): py_vollib_vectorized 0.1.1
needs py_vollib==1.0.1 and py_lets_be_rational==1.0.1. The chain is NIFTY-like: forward
24,000, 5 expiries (3 to 87 days), 200 strikes per expiry spread over +-3 ATM standard
deviations (rounded to 50), calls and puts, a skewed smile, r = 6.5%. Premiums come from
an independent Black-76 formula written here with ``math.erfc`` (py_vollib_vectorized's own
pricer discounts differently from its IV solver, so it is not used to make inputs).

Timed in CPU seconds of this process pinned to one core (``time.process_time``; best of
``--repeat``, JIT warmed first): implied vol, then delta, gamma, theta, vega,
rho at that vol, for the whole chain. Errors: IV against the true vol and against scalar
py_vollib (LetsBeRational), greeks against scalar py_vollib at the same vol. Prints a
Markdown table. Usage::

    ~/.cache/quant-platform/bench-venv/bin/python bench/bench_greeks.py
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import warnings
from collections.abc import Callable

import numpy as np

# Scalar py_vollib first, and keep references: importing py_vollib_vectorized patches
# py_vollib's modules in place with its vectorised versions.
from py_vollib.black.greeks import analytical as scalar_greeks
from py_vollib.black.implied_volatility import implied_volatility as scalar_iv

SCALAR_GREEKS = {
    name: getattr(scalar_greeks, name) for name in ("delta", "gamma", "theta", "vega", "rho")
}
import py_vollib_vectorized as pvv  # noqa: E402

from quant.analytics.black76 import black76_greeks_array, implied_vol_array  # noqa: E402

RATE = 0.065
FORWARD = 24_000.0


def _black76(f: float, k: float, t: float, v: float, r: float, call: bool) -> float:
    """Independent reference pricer (not the library under test)."""
    s = v * math.sqrt(t)
    d1 = math.log(f / k) / s + 0.5 * s
    d2 = d1 - s
    n1 = 0.5 * math.erfc(-d1 / math.sqrt(2.0))
    n2 = 0.5 * math.erfc(-d2 / math.sqrt(2.0))
    undiscounted = f * n1 - k * n2 if call else (k * (1.0 - n2) - f * (1.0 - n1))
    return math.exp(-r * t) * undiscounted


def make_chain() -> dict[str, np.ndarray]:
    rows = []
    for days in (3, 10, 24, 52, 87):
        t = days / 365.0
        atm_sd = 0.14 * math.sqrt(t)
        strikes = FORWARD * np.exp(np.linspace(-3 * atm_sd, 3 * atm_sd, 200))
        for k in np.round(strikes / 50.0) * 50.0:
            m = math.log(k / FORWARD) / math.sqrt(t)
            vol = 0.14 - 0.08 * m + 0.25 * m * m  # skewed smile
            for call in (True, False):
                rows.append((FORWARD, float(k), t, vol, call))
    f, k, t, v, c = (np.array(col) for col in zip(*rows, strict=True))
    price = np.array([_black76(*row[:4], RATE, row[4]) for row in rows])
    return {"F": f, "K": k, "t": t, "vol": v, "call": c.astype(bool), "price": price}


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--scalar-repeat", type=int, default=2)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    warnings.simplefilter("ignore")
    ch = make_chain()
    n = ch["price"].size
    f, k, t, c, p = ch["F"], ch["K"], ch["t"], ch["call"], ch["price"]
    flag = np.where(c, "c", "p")
    r = np.full(n, RATE)

    def ours() -> tuple[np.ndarray, object]:
        iv = implied_vol_array(p, f, k, t, RATE, c)
        return iv, black76_greeks_array(f, k, t, iv, RATE, c)

    def theirs() -> tuple[np.ndarray, object]:
        iv = pvv.vectorized_implied_volatility_black(p, f, k, r, t, flag, return_as="numpy")
        iv = np.asarray(iv, dtype=np.float64).ravel()
        g = pvv.get_all_greeks(flag, f, k, t, r, iv, model="black", return_as="dict")
        return iv, g

    def scalar() -> tuple[np.ndarray, dict[str, np.ndarray]]:
        ivs = np.empty(n)
        greeks = {name: np.empty(n) for name in SCALAR_GREEKS}
        for i in range(n):
            fl = "c" if c[i] else "p"
            iv = scalar_iv(p[i], f[i], k[i], RATE, t[i], fl)
            ivs[i] = iv
            for name, fn in SCALAR_GREEKS.items():
                greeks[name][i] = fn(fl, f[i], k[i], t[i], RATE, iv)
        return ivs, greeks

    theirs()  # warm the numba JIT
    ours()
    t_ours = _best(ours, args.repeat)
    t_theirs = _best(theirs, args.repeat)
    t_scalar = _best(scalar, args.scalar_repeat)

    iv_ours, g_ours = ours()
    iv_theirs, _ = theirs()
    iv_ref, g_ref = scalar()
    true = ch["vol"]
    print(
        f"# IV + greeks, {n}-option chain; Python {platform.python_version()}, numpy "
        f"{np.__version__}, load avg {os.getloadavg()[0]:.1f}"
    )
    print("| implementation | ms per chain | options/s | vs py_vollib_vectorized |")
    print("|---|---:|---:|---:|")
    for name, sec in (
        ("quant.analytics (numpy)", t_ours),
        ("py_vollib_vectorized 0.1.1 (numba)", t_theirs),
        ("py_vollib 1.0.1 scalar loop", t_scalar),
    ):
        print(f"| {name} | {sec * 1e3:.2f} | {n / sec:,.0f} | {t_theirs / sec:.2f}x |")
    print()
    print("| error | max abs |")
    print("|---|---:|")
    print(f"| our IV vs true vol | {np.max(np.abs(iv_ours - true)):.2e} |")
    print(f"| our IV vs scalar py_vollib IV | {np.max(np.abs(iv_ours - iv_ref)):.2e} |")
    print(f"| py_vollib_vectorized IV vs true vol | {np.max(np.abs(iv_theirs - true)):.2e} |")
    nans = f"{np.isnan(iv_ours).sum()} / {np.isnan(iv_theirs).sum()}"
    print(f"| NaN IVs (ours / vectorized) | {nans} |")
    for name in SCALAR_GREEKS:
        ours_g = getattr(g_ours, name)
        ref = g_ref[name]
        rel = np.max(np.abs(ours_g - ref) / np.maximum(np.abs(ref), 1e-12))
        print(f"| {name} vs scalar py_vollib (max rel) | {rel:.2e} |")


if __name__ == "__main__":
    main()
