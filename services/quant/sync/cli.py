"""``quant sync-instruments``: download the Upstox instrument master into the relational store.

Composition root of the sync: reads :class:`~quant.sync.settings.SyncSettings`, builds the
master source (``QUANT_UPSTOX__ASSETS_BASE``, e.g. the simulator's URL) and the store
(PostgreSQL ``QUANT_POSTGRES__DSN``, or SQLite with ``--sqlite PATH``), runs
:func:`~quant.sync.service.sync_instruments` with a progress bar on stderr, and prints the
counts and, per segment, the new rows against yesterday's. Exit status: 0 synced, 1
refused or failed (the stored instruments are unchanged; one ``error`` line names the
rule and the numbers).

Sanity rules (``quant.sync.checks``): a segment below ``QUANT_MIN_SEGMENT_FRACTION``
(90%) of yesterday's rows is refused unless ``--force``; impossible rows are dropped and
counted, and more than ``QUANT_MAX_BAD_ROW_FRACTION`` (1%) of them refuses the file
unless ``--force``; a download over ``QUANT_MAX_DOWNLOAD_BYTES`` (or inflating past
``QUANT_MAX_MASTER_BYTES``) and a sync over ``QUANT_DEADLINE_S`` are always refused.
``QUANT_METRICS_FILE`` (or ``--metrics-file``) gets the run's metrics for the node
exporter's textfile collector.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

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
    parser.add_argument(
        "--force",
        action="store_true",
        help="accept a master whose segments shrank below the row-count fraction of "
        "yesterday's, or with too many impossible rows (those are still dropped)",
    )
    parser.add_argument(
        "--metrics-file", type=Path, metavar="PATH", help="write the metrics here (textfile)"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry

    from quant.core.clock import IST, SystemClock, ns_to_datetime
    from quant.runtime.logs import setup_logging
    from quant.store.ports import StoreError
    from quant.sync.metrics import SyncMetrics
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
        args.assets_base or settings.upstox.assets_base,
        files,
        ca_file=settings.upstox.ca_file,
        max_download_bytes=settings.max_download_bytes,
        max_master_bytes=settings.max_master_bytes,
    )
    registry = CollectorRegistry()
    metrics = SyncMetrics(registry)
    metrics_file = args.metrics_file or settings.metrics_file
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
        metrics.refused("store")
        _write_metrics(registry, metrics_file)
        return 1
    clock = SystemClock()
    today = settings.trading_day or ns_to_datetime(clock.now_ns(), IST).date()
    try:
        report, _ = asyncio.run(
            sync_instruments(
                source,
                store,
                today=today,
                progress=progress,
                limits=settings.limits(force=args.force, min_rows=args.min_rows),
                clock=clock,
                metrics=metrics,
            )
        )
    except (SyncError, UpstoxError, StoreError) as e:
        bar.finish(ok=False)
        log.error("instrument sync failed, stored instruments unchanged: %s", e)
        return 1
    finally:
        store.close()
        _write_metrics(registry, metrics_file)
    bar.finish()
    sys.stdout.write(report.line() + "\n")
    for line in report.segment_lines():
        sys.stdout.write(f"  {line}\n")
    return 0


def _write_metrics(registry: CollectorRegistry, path: Path | None) -> None:
    if path is None:
        return
    from prometheus_client import write_to_textfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)
    except OSError as e:
        log.error("cannot write the metrics file %s: %s", path, e)


def _open_store(settings: SyncSettings, sqlite: Path | None) -> RelationalStore:
    if sqlite is not None or settings.relational_store == "sqlite":
        from quant.store.sqlite_relational import SqliteRelationalStore

        path = sqlite or settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteRelationalStore(path).open()
    from quant.store.postgres import PostgresStore

    return PostgresStore.from_settings(settings.postgres).open()
