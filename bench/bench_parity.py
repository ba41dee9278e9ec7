"""Benchmark: how often a tick backtest of a paper session gets exactly the same fills.

Runs ``tests/e2e/parity_kit.run_parity`` ``--runs`` times (each: the
shipped example strategy on ``quant up`` at 30x for up to ~80 s of wall time, then
``quant backtest --data ticks`` over the ticks that session recorded, the paper broker
with event time on in both) and prints, per run, whether the intents and the fills are
equal order by order, and the orders whose fills differ.

Run: ``python bench/bench_parity.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]

from parity_kit import run_parity  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    exact = 0
    for n in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-parity-") as tmp:
            paper, backtest = run_parity(Path(tmp))
        intents = [(c, t.intent) for c, t in paper.items()] == [
            (c, t.intent) for c, t in backtest.items()
        ]
        differ = [c for c, t in paper.items() if c not in backtest or backtest[c].fills != t.fills]
        exact += intents and not differ
        print(
            f"- run {n}: {len(paper)} orders, intents {'equal' if intents else 'DIFFER'}, "
            f"fills {'equal' if not differ else 'differ for ' + ', '.join(differ)}",
            flush=True,
        )
        for c in differ:
            print(
                f"    {c}: paper {paper[c].fills} backtest {backtest.get(c) and backtest[c].fills}"
            )
    print(f"- exact parity in {exact} of {args.runs} runs")


if __name__ == "__main__":
    main()
