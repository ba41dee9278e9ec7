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


def test_store_retry_and_probe_interval_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANT_STORE_RETRY__INITIAL_S", "0.25")
    monkeypatch.setenv("QUANT_STORE_RETRY__MAX_S", "60")
    monkeypatch.setenv("QUANT_DEPENDENCY_CHECK_INTERVAL_S", "5")
    settings = FeaturesSettings()
    assert (settings.store_retry.initial_s, settings.store_retry.max_s) == (0.25, 60.0)
    assert settings.dependency_check_interval_s == 5.0
    with pytest.raises(ValidationError):
        FeaturesSettings(store_retry={"initial_s": 0})  # type: ignore[arg-type]
