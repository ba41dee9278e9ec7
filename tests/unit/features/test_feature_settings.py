"""``quant features`` settings: the tick consumer's fetch window."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from quant.features.main import kafka_consumer_config
from quant.features.settings import FeaturesSettings


def test_fetch_window_sets_librdkafka_fetch_wait_and_min_bytes() -> None:
    assert kafka_consumer_config(FeaturesSettings()) == {
        "fetch.min.bytes": 1 << 20,
        "fetch.wait.max.ms": 3,
    }
    assert kafka_consumer_config(FeaturesSettings(batch_window_ms=0)) == {}  # librdkafka's own


def test_fetch_window_from_the_environment_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_BATCH_WINDOW_MS", "7")
    assert kafka_consumer_config(FeaturesSettings())["fetch.wait.max.ms"] == 7
    with pytest.raises(ValidationError):
        FeaturesSettings(batch_window_ms=1000)
