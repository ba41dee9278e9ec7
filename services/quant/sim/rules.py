"""Exchange rules and naming used to build the simulated instrument master.

NSE price-band tick sizes, stock F&O lot sizes and strike steps, ISIN check digits and the
deterministic synthetic company names. Pure functions, called by :mod:`quant.sim.master`.
"""

from __future__ import annotations

import random

import numpy as np

from quant.sim.universe import Company

_SYLLABLES = (
    "AR",
    "BHA",
    "CHE",
    "DEV",
    "GAN",
    "HIM",
    "JAY",
    "KAL",
    "MAH",
    "NAV",
    "OM",
    "PRA",
    "RAJ",
    "SAR",
    "TAR",
    "UMA",
    "VAS",
    "YAM",
    "ZEN",
    "SHR",
    "KRI",
    "LAK",
    "MOH",
    "NIR",
)
_SUFFIXES = (
    "IND",
    "TECH",
    "CHEM",
    "PHARM",
    "FIN",
    "STEEL",
    "POWER",
    "AUTO",
    "INFRA",
    "TEX",
    "AGRO",
    "CEM",
    "LOG",
    "SOFT",
    "BANK",
    "ENER",
)


def isin_check_digit(body: str) -> int:
    """Luhn check digit of an 11-character ISIN body."""
    digits = "".join(str(int(ch, 36)) for ch in body)
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = int(ch)
        if pos % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10


def equity_tick_paise(price: float) -> int:
    """NSE price-band tick sizes (2025 regime) in paise."""
    for bound, tick in ((250, 1), (1000, 5), (5000, 10), (10000, 50), (20000, 100)):
        if price < bound:
            return tick
    return 500


def strike_step(price: float) -> float:
    target = price * 0.012
    for step in (1.0, 2.5, 5.0, 10.0, 20.0, 50.0, 100.0, 250.0, 500.0):
        if step >= target:
            return step
    return 1000.0


def lot_for(price: float) -> int:
    raw = 600_000 / price
    for nice in (
        1,
        5,
        10,
        25,
        50,
        75,
        100,
        125,
        150,
        200,
        250,
        300,
        400,
        500,
        600,
        750,
        1000,
        1200,
        1500,
        2000,
        2500,
        3000,
        4000,
        5000,
        6000,
        8000,
        10000,
    ):
        if nice >= raw:
            return nice
    return 12000


_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _issuer_code(i: int) -> str:
    """Three characters of a synthetic ISIN: ``000``-``999``, then ``A00``, ``A01``, ...
    (a letter first, so the two ranges never meet; 33,696 more codes)."""
    if i < 1000:
        return f"{i:03d}"
    j = i - 1000
    if j >= 26 * 36 * 36:
        raise ValueError(f"at most {1000 + 26 * 36 * 36} synthetic companies, got index {i}")
    return _BASE36[10 + j // 1296] + _BASE36[j // 36 % 36] + _BASE36[j % 36]


def synthetic_companies(count: int, rng: random.Random) -> list[Company]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        sym = rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) + rng.choice(_SUFFIXES)
        if sym not in seen:
            seen.add(sym)
            names.append(sym)
    out = []
    for i, sym in enumerate(names):
        body = f"INE{_issuer_code(i)}Z0101"
        isin = body + str(isin_check_digit(body))
        price = round(float(np.exp(rng.uniform(np.log(40), np.log(6000)))), 1)
        out.append(Company(sym, f"{sym} LIMITED", isin, price, 0.0, 590000 + i))
    return out
