"""Running the strategy runtime (``quant.strategy.service``) in a test, and reading what it
publishes. Shared by the in-process runtime tests and the Kafka integration test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from execution_kit import until
from quant.bus import codecs, topics
from quant.bus.port import Bus, Consumer
from quant.core.clock import Clock
from quant.core.instruments import Instrument
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.ports import RelationalStore
from quant.strategy.config import ConfiguredStrategy, StrategyEntry
from quant.strategy.service import StrategyService
from quant.strategy.settings import StrategySettings
from quant.trading.intent import IntentMessage
from quant.trading.strategy import CancelRequest, Strategy, validate_params


def configured(
    cls: type[Strategy[Any]],
    strategy_id: str,
    params: Mapping[str, object] | None = None,
    *,
    algo_name: str = "",
    mode: str = "paper",
) -> ConfiguredStrategy:
    entry = StrategyEntry.model_validate(
        {
            "id": strategy_id,
            "class": f"{cls.__module__}:{cls.__name__}",
            "params": dict(params or {}),
            "algo_name": algo_name,
            "mode": mode,
        }
    )
    return ConfiguredStrategy(entry, cls, validate_params(cls, params))


def settings(data_dir: Path, **kw: Any) -> StrategySettings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "metrics_port": 0,
        "restore_quiet_s": 0.2,
        "status_every_s": 0.05,
        **kw,
    }
    return StrategySettings.model_validate(values)


@contextlib.asynccontextmanager
async def running(
    bus: Bus,
    clock: Clock,
    strategies: list[ConfiguredStrategy],
    config: StrategySettings,
    *,
    relational: RelationalStore | None = None,
    ready_timeout_s: float = 10.0,
    instruments: list[Instrument] | None = None,
) -> AsyncIterator[tuple[StrategyService, CollectorRegistry]]:
    """The runtime, run until the block ends; entered once it has started its strategies."""
    registry = CollectorRegistry()
    deps = Deps(
        clock=clock,
        registry=registry,
        board=StatusBoard(registry),
        bus=bus,
        instruments=FixedCatalog(instruments or [], "the test"),
        relational=relational,
    )
    service = StrategyService(config, deps, strategies)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))

    def started() -> bool:
        if task.done():
            task.result()
        return service.started

    await until("the strategy runtime started", started, ready_timeout_s)
    try:
        yield service, registry
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


class Commands:
    """What arrives on ``orders.intents``, read on a group of its own: (key, command)."""

    def __init__(self, bus: Bus, group: str) -> None:
        self._consumer: Consumer = bus.consumer(group, [topics.INTENTS.name])
        self.seen: list[tuple[str, IntentMessage | CancelRequest]] = []

    def poll(self) -> list[tuple[str, IntentMessage | CancelRequest]]:
        for msg in self._consumer.poll(1000, 0.05):
            key = msg.key()
            self.seen.append((key.decode() if key else "", codecs.decode_command(msg.value())))
        return self.seen

    def close(self) -> None:
        self._consumer.close()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)
