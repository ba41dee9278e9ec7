"""``quant scanner``: the momentum scanner service, one cycle (``--once``), or the replay
of stored history (``quant scanner evaluate --from D --to D``). See docs/scanner.md."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.scanner.settings import ScannerServiceSettings
    from quant.store.ports import TickStore


def add_parser(subparsers: Any) -> None:
    from quant.runtime.command import add_metrics_port_argument

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scanner",
        help="score the equity universe every 5 minutes of market hours; picks on "
        "scanner.suggestions and in the scanner_suggestions table",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="fill missing history, run one cycle now (the latest close outside market "
        "hours), print the ranked table and exit; publishes and writes nothing",
    )
    add_metrics_port_argument(parser)
    parser.set_defaults(func=_run)
    commands = parser.add_subparsers(dest="scanner_command", metavar="{evaluate}")
    _add_evaluate(commands)


def _add_evaluate(commands: Any) -> None:
    from quant.scanner.evaluate_cli import add_evaluate_arguments, main_evaluate

    parser: argparse.ArgumentParser = commands.add_parser(
        "evaluate",
        help="replay stored history at every cycle time and report the picks' forward "
        "returns (15/30/60 min) against the universe average",
    )
    add_evaluate_arguments(parser)
    parser.set_defaults(func=main_evaluate)


def make_tick_store(settings: ScannerServiceSettings) -> TickStore:
    """The configured tick store: QuestDB (opened by ``open_deps``), or a SQLite file."""
    if settings.tick_store == "sqlite":
        from quant.store.sqlite_ticks import SqliteTickStore

        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteTickStore(settings.sqlite_path).open()
    from quant.store.questdb_ticks import QuestDBTickStore

    return QuestDBTickStore.from_settings(settings.questdb)


def _run(args: argparse.Namespace) -> int:
    from quant.runtime.command import run_command, with_metrics_port
    from quant.runtime.deps import open_data_service_deps
    from quant.scanner.main import build
    from quant.scanner.settings import ScannerServiceSettings

    settings = with_metrics_port(ScannerServiceSettings(), args)
    if args.once:
        return _run_once(settings)
    return run_command(
        settings,
        lambda: open_data_service_deps(
            settings, tick_store=lambda: make_tick_store(settings), token=True
        ),
        lambda deps: [build(settings, deps)],
    )


def _run_once(settings: ScannerServiceSettings) -> int:
    import asyncio
    import logging
    import sys

    from quant.core.calendar import NSE_CALENDAR
    from quant.core.clock import SystemClock
    from quant.runtime.logs import setup_logging
    from quant.scanner.main import rest_io
    from quant.scanner.once import run_once
    from quant.scanner.table import format_picks
    from quant.store.ports import Pingable, StoreError
    from quant.upstox.auth import FileTokenStore, StoredTokenSource
    from quant.upstox.errors import UpstoxError

    setup_logging(settings.log_level, json_format=settings.log_format == "json")
    log = logging.getLogger("quant.scanner")
    clock = SystemClock()

    async def main() -> int:
        store = make_tick_store(settings)
        relational = None
        try:
            if isinstance(store, Pingable):
                store.open()
            if settings.postgres is not None:
                from quant.store.postgres import PostgresStore

                relational = PostgresStore.from_settings(settings.postgres)
                relational.open()
                instruments = await asyncio.to_thread(relational.list_instruments)
            else:
                from quant.runtime.deps import DownloadCatalog

                instruments = await DownloadCatalog(
                    settings.upstox, settings.instrument_files
                ).load()
            token = StoredTokenSource(FileTokenStore(settings.upstox.token_file), clock)
            io = rest_io(
                settings.upstox,
                token,
                settings.scanner,
                store=store,
                calendar=NSE_CALENDAR,
                clock=clock,
            )
            result = await run_once(
                settings.scanner,
                instruments=instruments,
                store=store,
                open_io=io,
                calendar=NSE_CALENDAR,
                clock=clock,
            )
        except (StoreError, UpstoxError, ValueError) as e:
            log.error("scanner --once: %s", e)
            return 1
        finally:
            if relational is not None:
                relational.close()
            store.close()
        sys.stdout.write(format_picks(result.picks, universe=result.universe, quoted=result.quoted))
        return 0

    return asyncio.run(main())
