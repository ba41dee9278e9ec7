"""Benchmark: the live order path under SIGKILL, a burst, and kill-switch flatten.

Against ``quant sim`` (in this process; real rate limits) with the execution process under
test as a child (``tests/integration/execution/trials_kit.py``: ExecutionEngine + the live
Upstox broker, journal in a real PostgreSQL started here):

1. ``--trials`` (100) kill trials: a seeded random MARKET intent, the simulator holding
   the place answer back in ``--lose`` of them (``lose_order_answers``), SIGKILL after a
   seeded random delay inside the intent -> acknowledgement window, restart
   (``recover()``), the same intent redelivered; then the restarted process's positions are
   compared with the simulator's. Duplicates are counted at the simulator (accepted place
   commands per tag in its order log, and orders per tag in its order book).
2. A burst of 100 intents in one second: the densest 1 s window of order commands in the
   simulator's log, and its 429 count.
3. Kill switch flatten with 20 resting orders and 10 positions: time from the command to
   the simulator showing nothing open and every position flat; reference in the same run:
   the same 20 cancels + 10 closing orders sent straight through ``UpstoxRestClient``
   (no engine; the client's own limiter paces them).

Run: ``python bench/bench_exec_trials.py [--trials 100] [--seed 7] [--lose 0.3] [--sqlite]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration" / "execution"))

import trials_kit as kit  # noqa: E402  (a test helper module, found through sys.path)


async def run(
    args: argparse.Namespace, journal: Callable[[str], str | None], kafka: str | None
) -> dict[str, object]:
    out: dict[str, object] = {}

    def progress(t: kit.TrialRecord) -> None:
        if t.n % 10 == 0 or not t.positions_equal:
            print(f"  trial {t.n}: {kit.kill_point(t)}; positions equal: {t.positions_equal}",
                  file=sys.stderr, flush=True)  # fmt: skip

    async with kit.lab(journal=journal("exec_trials"), kafka=kafka) as lab:
        trials = await kit.run_kill_trials(
            lab, args.trials, args.seed, lose_probability=args.lose, progress=progress
        )
    summary = trials.summary()
    summary["duplicate_tags"] = trials.duplicate_tags
    summary["duplicate_orders"] = trials.duplicate_orders
    summary["mismatched_trials"] = [vars(t) for t in trials.mismatches]
    summary["redelivered_as"] = dict(Counter(t.redelivered_status for t in trials.trials))
    summary["kill_delay_s"] = {
        "min": min(t.delay_s for t in trials.trials),
        "max": max(t.delay_s for t in trials.trials),
    }
    out["kill_trials"] = summary
    print(json.dumps({"kill_trials": summary}, indent=1, default=str), flush=True)
    async with kit.lab(journal=journal("exec_burst"), kafka=kafka) as lab:
        out["burst"] = (await kit.run_burst(lab, intents=100, within_s=1.0)).summary()
    print(json.dumps({"burst": out["burst"]}, indent=1), flush=True)
    flats = []
    for n in range(args.flatten_runs):
        async with kit.lab(journal=journal(f"exec_flatten_{n}"), kafka=kafka) as lab:
            flats.append((await kit.run_flatten(lab, open_orders=20, positions=10)).summary())
        print(json.dumps({"flatten": flats[-1]}, indent=1), flush=True)
    out["flatten"] = flats
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--lose", type=float, default=0.3, help="share of trials with a lost answer")
    p.add_argument("--flatten-runs", type=int, default=2)
    p.add_argument("--sqlite", action="store_true", help="journal in SQLite, no PostgreSQL")
    p.add_argument(
        "--engine-only",
        action="store_true",
        help="run the engine in a small script (no Kafka) instead of the execution service",
    )
    args = p.parse_args()
    started = time.monotonic()
    servers: list[Any] = []
    root = Path(tempfile.mkdtemp(prefix="bench-exec-trials-"))
    root.chmod(0o755)
    try:
        from quant.devinfra.group import start_all, stop_all
        from quant.devinfra.kafka import KafkaServer
        from quant.devinfra.postgres import PostgresServer

        pg = None if args.sqlite else PostgresServer(root / "postgres", die_with_parent=True)
        kafka = None if args.engine_only else KafkaServer(root / "kafka", die_with_parent=True)
        servers = [s for s in (pg, kafka) if s is not None]
        failed = start_all(servers)
        if failed:
            raise SystemExit(f"servers did not start: {failed}")

        def journal(name: str) -> str | None:  # a database per lab; None: SQLite
            return None if pg is None else pg.ensure_database(name)

        result = asyncio.run(run(args, journal, kafka.address if kafka is not None else None))
    finally:
        stop_all(servers)
        shutil.rmtree(root, ignore_errors=True)
    result["journal"] = "sqlite" if args.sqlite else "postgresql"
    result["process"] = "engine script" if args.engine_only else "execution service on Kafka"
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
