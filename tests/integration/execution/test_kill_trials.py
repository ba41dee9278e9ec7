"""The live order path under SIGKILL, bursts and the kill switch, against ``quant sim``.

The execution service in live mode (``build(settings, deps)``: the engine, the Upstox
adapter, its Kafka loops and HTTP API; journal in PostgreSQL) runs as a child process
(:mod:`trials_kit`, ``exec_service_child.py``) that is SIGKILLed and started again;
intents and ticks go to it on Kafka. The simulator runs in this process, so its order log
and order book are read directly. CI runs 10 kill trials; ``bench/bench_exec_trials.py``
runs the full 100 and the timed flatten comparison (docs/benchmarks.md).
"""

from __future__ import annotations

import pytest
import trials_kit as kit

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_sigkill_between_intent_and_acknowledgement_never_duplicates_an_order(
    fresh_postgres_dsn: str, kafka_bootstrap: str
) -> None:
    async with kit.lab(journal=fresh_postgres_dsn, kafka=kafka_bootstrap) as lab:
        result = await kit.run_kill_trials(lab, trials=10, seed=17, lose_probability=0.4)
    summary = result.summary()
    assert result.duplicate_tags == {}, summary
    assert result.duplicate_orders == {}, summary
    assert result.mismatches == [], [vars(t) for t in result.mismatches]
    assert len(result.trials) == 10
    # every intent reached the simulator at most once, and each redelivery was answered
    # with the order made the first time (or its loss before sending), never a new one
    assert result.places_at_sim <= 11
    for t in result.trials:
        assert t.redelivered_status != "unknown", vars(t)  # the intent was not lost
        if t.at_sim_at_kill:  # the order made the first time, never a new one
            assert t.redelivered_status != "REJECTED", vars(t)


async def test_a_burst_of_100_intents_keeps_to_10_orders_in_any_second_without_a_429(
    fresh_postgres_dsn: str, kafka_bootstrap: str
) -> None:
    async with kit.lab(journal=fresh_postgres_dsn, kafka=kafka_bootstrap) as lab:
        burst = await kit.run_burst(lab, intents=100, within_s=1.0)
    summary = burst.summary()
    assert burst.send_seconds < 2.0, summary  # it was a burst
    assert burst.places_at_sim == 100, summary  # every intent was queued, none refused
    assert burst.max_in_1s <= 10, summary
    assert burst.refused_429 == 0, summary


async def test_flatten_cancels_20_open_orders_and_closes_10_positions(
    fresh_postgres_dsn: str, kafka_bootstrap: str
) -> None:
    async with kit.lab(journal=fresh_postgres_dsn, kafka=kafka_bootstrap) as lab:
        flat = await kit.run_flatten(lab, open_orders=20, positions=10)
    summary = flat.summary()
    assert flat.left_open == 0, summary
    assert flat.left_positions == {}, summary
    assert flat.engine_commands >= 30, summary  # 20 cancels + 10 closing orders
