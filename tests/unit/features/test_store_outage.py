"""``StoreOutage``: what the feature service says and counts while the store refuses writes."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from quant.features.settings import StoreRetrySettings
from quant.features.store_outage import StoreOutage, StoreOutageMetrics, retry_delays


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _value(registry: CollectorRegistry, name: str) -> float:
    value = registry.get_sample_value(name)
    assert value is not None, name
    return value


def test_an_outage_counts_retries_sets_the_gauge_and_says_why_until_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry, clock = CollectorRegistry(), Clock()
    outage = StoreOutage(StoreOutageMetrics(registry), "QuestDB", log_every_s=30, monotonic=clock)
    assert outage.reason() is None
    with caplog.at_level(logging.INFO, logger="quant.features.store_outage"):
        for attempt in range(1, 11):  # ten failures over 9 s: one log line, not ten
            outage.write_failed(ConnectionError("refused"), attempt, 1.0)
            clock.t += 1
        reason = outage.reason()
        assert reason is not None and "QuestDB" in reason and "refused" in reason
        assert "10 s" in reason
        assert _value(registry, "features_store_write_retries_total") == 10
        assert _value(registry, "features_store_down") == 1
        clock.t += 30
        outage.write_failed(ConnectionError("refused"), 11, 1.0)  # 30 s on: one more line
        outage.write_recovered(11, 41.0)
    assert outage.reason() is None
    assert _value(registry, "features_store_down") == 0
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "retrying" in lines[0] and "still failing" in lines[1] and "again" in lines[2]


def test_retry_delays_grow_and_are_capped() -> None:
    delay = retry_delays(StoreRetrySettings(initial_s=1.0, max_s=8.0))
    assert [delay(n) <= c for n, c in ((1, 1), (2, 2), (3, 4), (4, 8), (9, 8))] == [True] * 5
    assert delay(9) >= 4.0  # capped at max_s, jittered within its upper half
