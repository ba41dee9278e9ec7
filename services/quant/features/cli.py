"""``quant features``: the feature engine service (Kafka in, Kafka + QuestDB out)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.features.settings import FeaturesSettings
    from quant.store.ports import TickStore


def add_parser(subparsers: Any) -> None:
    from quant.runtime.command import add_metrics_port_argument

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "features",
        help="ticks -> enriched ticks, candles and greeks on Kafka and in QuestDB",
    )
    add_metrics_port_argument(parser)
    parser.set_defaults(func=_run)


def make_tick_store(settings: FeaturesSettings) -> TickStore:
    """The configured tick store: QuestDB (opened by ``open_deps``, which waits for it
    if it does not answer yet), or a SQLite file for one machine (opened)."""
    if settings.tick_store == "sqlite":
        from quant.store.sqlite_ticks import SqliteTickStore

        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteTickStore(settings.sqlite_path).open()
    from quant.store.questdb_ticks import QuestDBTickStore

    return QuestDBTickStore.from_settings(settings.questdb)


def _run(args: argparse.Namespace) -> int:
    from quant.features.main import build, kafka_consumer_config
    from quant.features.settings import FeaturesSettings
    from quant.runtime.command import run_command, with_metrics_port
    from quant.runtime.deps import open_data_service_deps

    settings = with_metrics_port(FeaturesSettings(), args)
    return run_command(
        settings,
        lambda: open_data_service_deps(
            settings,
            consumer_config=kafka_consumer_config(settings),
            tick_store=lambda: make_tick_store(settings),
        ),
        lambda deps: [build(settings, deps)],
    )
