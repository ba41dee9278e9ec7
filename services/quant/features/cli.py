"""``quant features``: the feature engine service (Kafka in, Kafka + QuestDB out)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.features.settings import FeaturesSettings
    from quant.store.ports import TickStore


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "features",
        help="ticks -> enriched ticks, candles and greeks on Kafka and in QuestDB",
    )
    parser.add_argument("--metrics-port", type=int, help="/healthz /readyz /metrics port (0 = off)")
    parser.set_defaults(func=_run)


def open_tick_store(settings: FeaturesSettings) -> TickStore:
    """The configured tick store, opened: QuestDB, or a SQLite file for one machine."""
    if settings.tick_store == "sqlite":
        from quant.store.sqlite_ticks import SqliteTickStore

        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteTickStore(settings.sqlite_path).open()
    from quant.store.questdb_ticks import QuestDBTickStore

    return QuestDBTickStore.from_settings(settings.questdb).open()


def _run(args: argparse.Namespace) -> int:
    from quant.features.main import build, kafka_consumer_config
    from quant.features.settings import FeaturesSettings
    from quant.runtime.command import run_command
    from quant.runtime.deps import open_deps

    settings = FeaturesSettings()
    if args.metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": args.metrics_port})
    return run_command(
        settings,
        lambda: open_deps(
            kafka=settings.kafka,
            consumer_config=kafka_consumer_config(settings),
            postgres=settings.postgres,
            upstox=settings.upstox,
            instrument_files=settings.instrument_files,
            tick_store=lambda: open_tick_store(settings),
        ),
        lambda deps: [build(settings, deps)],
    )
