"""Benchmark: Indian charges per fill (``quant.trading.charges.DayCharges.add``), in µs.

One account's day of fills, as the execution service books them: NSE equities (intraday
and delivery, 50 securities) and NIFTY options, both sides, about one order in four filled
in several trades, all on one ``DayCharges``. Reference, same run, same fills: the exact
``Fraction`` engine it replaced (``tests/unit/trading/charges_reference.py``, the one the
differential test checks it against); both must give the same day total, or the script
stops. Run: ``python bench/bench_charges.py [--fills 20000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from quant.core.instruments import InstrumentType
from quant.core.orders import Side
from quant.trading.charges import ChargeBreakdown, DayCharges, Fill

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "trading"))
from charges_reference import ReferenceDayCharges

DAY = date(2026, 12, 7)


def make_fills(n: int, seed: int = 7) -> list[Fill]:
    rng = random.Random(seed)
    fills: list[Fill] = []
    order = 0
    while len(fills) < n:
        order += 1
        side = rng.choice([Side.BUY, Side.SELL])
        parts = rng.randint(2, 4) if rng.random() < 0.25 else 1
        if rng.random() < 0.6:
            key, kind = f"NSE_EQ|INE{rng.randrange(50):03d}A01018", InstrumentType.EQUITY
            product, qty, price = rng.choice("ID"), rng.randint(1, 500), rng.randint(5_000, 500_000)
        else:
            key, kind = "NSE_FO|52618", InstrumentType.CALL
            product, qty, price = "I", 75 * rng.randint(1, 20), rng.randint(5, 40_000)
        fills += [Fill(key, kind, product, side, qty, price, DAY, f"o{order}")] * parts
    return fills[:n]


def run(
    make: Callable[[], DayCharges | ReferenceDayCharges], fills: list[Fill]
) -> tuple[float, ChargeBreakdown]:
    day = make()
    start = time.perf_counter()
    for fill in fills:
        day.add(fill)
    return time.perf_counter() - start, day.total()


def main(n: int, repeat: int) -> None:
    fills = make_fills(n)
    ours, ref = [], []
    for _ in range(repeat):
        t, total = run(lambda: DayCharges(DAY), fills)
        ours.append(t)
        t, ref_total = run(lambda: ReferenceDayCharges(DAY), fills)
        ref.append(t)
        if total != ref_total:
            raise SystemExit(f"the engines disagree: {total} != {ref_total}")
    us = 1e6 / n
    print(f"fills: {n} ({len({f.order_id for f in fills})} orders), best of {repeat}")
    print(f"DayCharges.add (integers)        : {min(ours) * us:6.2f} µs per fill")
    print(f"reference (Fraction, the old one): {min(ref) * us:6.2f} µs per fill")
    print(
        f"ratio: {min(ours) / min(ref):.3f} of the reference ({min(ref) / min(ours):.1f}x faster)"
    )
    print(f"day total: {total.total} paise")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    main(args.fills, args.repeat)
