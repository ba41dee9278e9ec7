"""The one settings object of ``quant features`` (env prefix ``QUANT_``, nesting ``__``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from quant.runtime.settings import DataServiceSettings, Section
from quant.store.settings import QuestDBSettings


class StoreRetrySettings(Section):
    """Backoff between retries of a failed tick-store write (``QUANT_STORE_RETRY__*``):
    ``initial_s * 2**n`` capped at ``max_s``, with jitter."""

    initial_s: float = Field(default=0.5, gt=0)
    max_s: float = Field(default=15.0, gt=0)
    log_every_s: float = Field(default=30.0, gt=0)  # one log line per this while it fails


class FeaturesSettings(DataServiceSettings):
    questdb: QuestDBSettings = QuestDBSettings()
    tick_store: Literal["questdb", "sqlite"] = "questdb"
    sqlite_path: Path = Path.home() / ".local" / "share" / "quant-platform" / "ticks.sqlite"
    group_id: str = "features"
    snapshot_path: Path = Path.home() / ".local" / "share" / "quant-platform" / "features.snap"
    batch_size: int = 2000
    poll_timeout_s: float = 0.2
    # the broker answers a fetch once 1 MiB is there or after this many ms: at feed rates
    # a batch of a few ms of ticks instead of one per fetch (measured at 10k ticks/s: the
    # service's CPU 63% -> 40% of a core, the broker's 46% -> 39%, p50 latency unchanged)
    batch_window_ms: int = Field(default=3, ge=0, le=100)
    checkpoint_interval_s: float = 5.0
    drain_s: float = 2.0
    # price only the options on these entries' underlyings (empty: every option)
    universe: tuple[str, ...] = ()
    # "memory": snapshots live as long as the process (quant up's in-process bus too)
    snapshot_store: Literal["file", "memory"] = "file"
    metrics_port: int = Field(default=9102, ge=0, le=65535)
    # a failed QuestDB write is retried (Kafka commits held) rather than ending the run
    store_retry: StoreRetrySettings = StoreRetrySettings()
