"""Deterministic random tick streams for the analytics tests and benchmarks."""

from __future__ import annotations

import random

from quant.core.events import DepthLevel, FeedMode, Tick

BASE_NS = 1_795_000_000_000_000_000  # 2026-11-17 ~ 06:33 UTC, inside NSE hours
NS = 1_000_000_000


def random_ticks(
    n: int,
    instruments: int = 5,
    *,
    seed: int = 7,
    levels: int = 5,
    start_ns: int = BASE_NS,
    mean_gap_ms: float = 50.0,
    resets: bool = False,
) -> list[Tick]:
    """A plausible interleaved stream: random-walk prices, growing volume, a 5-level book."""
    rng = random.Random(seed)
    keys = [f"NSE_EQ|INE{i:06d}" for i in range(instruments)]
    price = {k: 100_000 + 5_000 * i for i, k in enumerate(keys)}
    volume = {k: rng.randint(0, 5_000) for k in keys}
    ts = start_ns
    out: list[Tick] = []
    for _ in range(n):
        key = rng.choice(keys)
        ts += int(rng.expovariate(1.0 / mean_gap_ms) * 1e6)
        if rng.random() < 0.6:  # a trade
            price[key] = max(100, price[key] + rng.choice((-10, -5, 0, 0, 5, 10)))
            volume[key] += rng.randint(1, 500)
        if resets and rng.random() < 0.003:
            volume[key] = rng.randint(0, 50)
        p = price[key]
        depth = tuple(
            DepthLevel(p - 5 * (j + 1), rng.randint(1, 900), p + 5 * (j + 1), rng.randint(1, 900))
            for j in range(levels)
        )
        out.append(
            Tick(
                instrument_key=key,
                mode=FeedMode.FULL if levels <= 5 else FeedMode.FULL_D30,
                ts_event=ts,
                ts_init=ts + 1_000,
                ltp=p,
                ltt_ns=ts,
                ltq=1,
                volume=volume[key],
                oi=0,
                depth=depth,
            )
        )
    return out
