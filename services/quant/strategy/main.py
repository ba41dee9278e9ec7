"""The strategy runtime's composition: ``build(settings, deps, strategies)`` -> the
``strategy`` service, and ``open_strategy_deps`` for ``quant strategy run``.

The runtime needs Kafka, and the relational store only to restore the day's orders from
the execution service's journal (``QUANT_POSTGRES__DSN``; without it, ``orders.events``
alone). It loads no instrument master.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from quant.bus.errors import BusUnavailable
from quant.bus.kafka import KafkaBus
from quant.core.clock import SystemClock
from quant.runtime.blocking import run_blocking
from quant.runtime.deps import (
    PROBE_TIMEOUT_S,
    Deps,
    FixedCatalog,
    new_registry_and_board,
    open_store,
)
from quant.runtime.probes import Dependency
from quant.runtime.service import DependencyUnavailable
from quant.store.ports import RelationalStore
from quant.strategy.config import ConfiguredStrategy
from quant.strategy.service import StrategyService
from quant.strategy.settings import StrategySettings


def build(
    settings: StrategySettings, deps: Deps, strategies: Sequence[ConfiguredStrategy]
) -> StrategyService:
    return StrategyService(settings, deps, strategies)


@contextlib.asynccontextmanager
async def open_strategy_deps(settings: StrategySettings) -> AsyncIterator[Deps]:
    """Kafka (checked: a start without it fails naming it) and PostgreSQL when configured."""
    registry, board = new_registry_and_board()
    bus = KafkaBus.from_settings(settings.kafka)
    try:
        await run_blocking(bus.check)
    except BusUnavailable as e:
        raise DependencyUnavailable(str(e)) from e
    board.watch(Dependency("Kafka", lambda: bus.check(timeout=PROBE_TIMEOUT_S)))
    async with contextlib.AsyncExitStack() as stack:
        relational: RelationalStore | None = None
        if settings.postgres is not None:
            from quant.store.postgres import PostgresStore

            store = PostgresStore.from_settings(settings.postgres)
            stack.callback(store.close)
            await open_store(board, store)
            relational = store
        yield Deps(
            clock=SystemClock(),
            registry=registry,
            board=board,
            bus=bus,
            instruments=FixedCatalog([], "none (the strategy runtime needs no instruments)"),
            relational=relational,
        )
