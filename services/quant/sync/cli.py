"""``quant sync-instruments``: download the Upstox instrument master into the relational store.

Composition root of the sync: reads :class:`~quant.sync.settings.SyncSettings`, builds the
master source (``QUANT_UPSTOX__ASSETS_BASE``, e.g. the simulator's URL) and the store
(PostgreSQL ``QUANT_POSTGRES__DSN``, or SQLite with ``--sqlite PATH``), runs
:func:`~quant.sync.service.sync_instruments` with a progress bar on stderr, and prints the
counts. Exit status: 0 synced, 1 refused or failed (the stored instruments are unchanged).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.store.ports import RelationalStore
    from quant.sync.settings import SyncSettings

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sync-instruments",
        help="download the Upstox instrument master into the relational store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--assets-base", help="where the master files live (default: settings)")
    parser.add_argument("--files", help="comma-separated master files, e.g. NSE,BSE")
    parser.add_argument("--sqlite", type=Path, metavar="PATH", help="use a SQLite store file")
    parser.add_argument("--min-rows", type=int, help="refuse a master with fewer rows")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from quant.core.clock import IST, SystemClock, ns_to_datetime
    from quant.runtime.logs import setup_logging
    from quant.store.ports import StoreError
    from quant.sync.progress import Progress
    from quant.sync.service import SyncError, sync_instruments
    from quant.sync.settings import SyncSettings
    from quant.upstox.errors import UpstoxError
    from quant.upstox.instruments import UpstoxInstrumentSource

    settings = SyncSettings()
    setup_logging(settings.log_level, json_format=settings.log_format == "json")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    files = tuple(args.files.split(",")) if args.files else settings.instrument_files
    source = UpstoxInstrumentSource(
        args.assets_base or settings.upstox.assets_base, files, ca_file=settings.upstox.ca_file
    )
    bar = Progress(sys.stderr)
    phase = [""]

    def progress(name: str, done: int, total: int) -> None:
        if name != phase[0]:
            phase[0] = name
            bar.start(name, total)
        bar.update(done)

    try:
        store = _open_store(settings, args.sqlite)
    except StoreError as e:
        log.error("cannot open the relational store: %s", e)
        return 1
    today = ns_to_datetime(SystemClock().now_ns(), IST).date()
    try:
        report, _ = asyncio.run(
            sync_instruments(
                source,
                store,
                today=today,
                progress=progress,
                min_rows=args.min_rows if args.min_rows is not None else settings.min_instruments,
            )
        )
    except (SyncError, UpstoxError, StoreError) as e:
        bar.finish()
        log.error("instrument sync failed, stored instruments unchanged: %s", e)
        return 1
    finally:
        store.close()
    bar.finish()
    sys.stdout.write(report.line() + "\n")
    return 0


def _open_store(settings: SyncSettings, sqlite: Path | None) -> RelationalStore:
    if sqlite is not None or settings.relational_store == "sqlite":
        from quant.store.sqlite_relational import SqliteRelationalStore

        path = sqlite or settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteRelationalStore(path).open()
    from quant.store.postgres import PostgresStore

    return PostgresStore.from_settings(settings.postgres).open()
