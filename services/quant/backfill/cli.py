"""``quant backfill``: historical candles from Upstox (or the simulator) into the tick store.

    quant backfill --symbols RELIANCE,INFY,"NIFTY 50" --from 2026-09-01 --to 2026-11-30 \\
        --interval 1minute
    quant backfill --universe NSE_EQ --from 2025-12-01 --interval day
    quant backfill --universe my-list.txt --from 2026-11-02 --force
    quant backfill --universe NSE_EQ --days 5          # the last 5 days up to today

Symbols are trading symbols, index names or instrument keys, resolved through the
instrument master (PostgreSQL with ``QUANT_POSTGRES__DSN``, else the embedded store of
``quant up`` in ``QUANT_DATA_DIR``, else downloaded from ``QUANT_UPSTOX__ASSETS_BASE``);
``--universe`` is a file (one symbol a line) or ``NSE_EQ`` / ``NIFTY50``. An unknown
symbol or a bad date range is an error before any request. Candles go to QuestDB when
``QUANT_QUESTDB__HOST`` is set, else to ``ticks.sqlite`` in ``QUANT_DATA_DIR``.

Only what the store lacks is fetched (a stopped run, started again, continues);
``--force`` fetches everything again (an upsert: no duplicates). Requests go through the
rate-limited client (50/s, 500/min, 2,000/30 min: the ETA shows what the 30-minute
window means for large jobs), ``--in-flight`` at a time. Bad candles are counted and
dropped; gaps are counted. Ctrl-C stops after the requests in flight. Exit status: 0 done,
1 some requests failed (re-run to fetch them), 2 bad arguments.
``QUANT_BACKFILL__TERMINATION_LOG`` (the operator's Job) gets the summary as one line of
JSON: interval, symbols, requests, candles_written, candles_dropped, gaps, errors,
skipped_chunks, stopped, and ``error`` (the first) when something failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.backfill.engine import BackfillReport
    from quant.backfill.settings import BackfillSettings
    from quant.core.instruments import Instrument
    from quant.store.ports import TickStore
    from quant.upstox.rest import TokenSource

log = logging.getLogger(__name__)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backfill",
        help="download historical candles into the tick store (resumable)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--symbols", help='comma-separated, e.g. RELIANCE,INFY,"NIFTY 50"')
    what.add_argument("--universe", metavar="FILE|NAME", help="a file of symbols, or NSE_EQ")
    since = parser.add_mutually_exclusive_group(required=True)
    since.add_argument("--from", dest="start", type=_date, metavar="DATE")
    since.add_argument(
        "--days", type=int, metavar="N", help="from N calendar days before --to (for Jobs)"
    )
    parser.add_argument("--to", dest="end", type=_date, metavar="DATE", help="default: today (IST)")
    parser.add_argument("--interval", choices=("1minute", "day"), default="1minute")
    parser.add_argument("--force", action="store_true", help="fetch what is stored again")
    parser.add_argument("--in-flight", type=int, metavar="N", help="requests at once (4)")
    parser.set_defaults(func=_run)


def load_master(settings: BackfillSettings) -> tuple[list[Instrument], str]:
    """The instrument master and where it came from (see the module docstring)."""
    from quant.backfill.master import stored_master

    stored = stored_master(settings.postgres, settings.data_dir)
    if stored is not None:
        return stored
    from quant.upstox.instruments import UpstoxInstrumentSource

    source = UpstoxInstrumentSource(
        settings.upstox.assets_base, settings.instrument_files, ca_file=settings.upstox.ca_file
    )
    base = settings.upstox.assets_base
    return asyncio.run(source.fetch(lambda phase, done, total: None)), f"a download from {base}"


def open_tick_store(settings: BackfillSettings) -> tuple[TickStore, str]:
    """QuestDB when configured, else the embedded store of ``quant up``."""
    if settings.questdb is not None:
        from quant.store.questdb_ticks import QuestDBTickStore

        q = settings.questdb
        return QuestDBTickStore.from_settings(q).open(timeout=10.0), f"QuestDB at {q.host}"
    from quant.backfill.settings import TICKS_FILE
    from quant.store.sqlite_ticks import SqliteTickStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / TICKS_FILE
    return SqliteTickStore(path).open(), str(path)


def token_source(settings: BackfillSettings) -> TokenSource:
    """The stored Upstox token when there is one, else none (historical candles are
    served without one)."""
    if not settings.upstox.token_file.exists():
        return lambda: ""
    from quant.core.clock import SystemClock
    from quant.upstox.auth import FileTokenStore, StoredTokenSource

    return StoredTokenSource(FileTokenStore(settings.upstox.token_file), SystemClock())


def summary_json(interval: str, report: BackfillReport | None, error: str | None) -> str:
    """The run as one line of JSON (the operator reads it into the TradingDay's status)."""
    out: dict[str, object] = {"interval": interval}
    if report is not None:
        out.update(
            symbols=report.symbols,
            requests=report.requests,
            candles_written=report.candles_written,
            candles_dropped=report.candles_dropped,
            gaps=report.gaps,
            errors=len(report.errors),
            skipped_chunks=report.skipped_chunks,
            stopped=report.stopped,
        )
        if report.errors and error is None:
            error = report.errors[0]
    if error is not None:
        out["error"] = error
    return json.dumps(out)


def _write_termination_log(settings: BackfillSettings, line: str) -> None:
    path = settings.backfill.termination_log
    if path is None:
        return
    try:
        path.write_text(line + "\n", encoding="utf-8")
    except OSError as e:
        log.error("cannot write the summary to %s: %s", path, e)


def _summary(report: BackfillReport) -> str:
    lines = [report.line()]
    lines += [f"  error: {e}" for e in report.errors[:20]]
    if len(report.errors) > 20:
        lines.append(f"  ... and {len(report.errors) - 20} more errors")
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace) -> int:
    from quant.backfill.settings import BackfillSettings

    settings = BackfillSettings()
    outcome: list[tuple[BackfillReport | None, str | None]] = []
    try:
        return _backfill(args, settings, outcome)
    finally:
        report, error = outcome[-1] if outcome else (None, "stopped")
        _write_termination_log(settings, summary_json(args.interval, report, error))


def _backfill(
    args: argparse.Namespace,
    settings: BackfillSettings,
    outcome: list[tuple[BackfillReport | None, str | None]],
) -> int:
    from quant.backfill.engine import backfill
    from quant.backfill.plan import BadRequest, HistoryRequest, check_request, ist_day
    from quant.backfill.progress import ProgressBar
    from quant.backfill.universe import (
        resolve_symbols,
        split_symbols,
        universe_entries,
    )
    from quant.core.clock import SystemClock
    from quant.core.symbols import InstrumentIndex
    from quant.runtime.logs import setup_logging
    from quant.store.ports import StoreError
    from quant.upstox.config import RestConfig
    from quant.upstox.errors import UpstoxAuthError, UpstoxError
    from quant.upstox.rest import UpstoxRestClient

    setup_logging(settings.log_level, json_format=settings.log_format == "json")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    clock = SystemClock()
    today = ist_day(clock.now_ns())
    end = args.end or today
    start = args.start or end - timedelta(days=max(args.days, 0))
    in_flight = args.in_flight or settings.in_flight
    if in_flight < 1:
        log.error("--in-flight must be at least 1")
        outcome.append((None, "--in-flight must be at least 1"))
        return 2
    try:  # the range first: no need to load anything to refuse it
        check_request(HistoryRequest(["-"], args.interval, start, end), today)
        instruments, origin = load_master(settings)
        log.info("%d instruments from %s", len(instruments), origin)
        symbols = (
            split_symbols(args.symbols)
            if args.symbols
            else universe_entries(args.universe, instruments)
        )
        keys = [
            i.instrument_key for i in resolve_symbols(symbols, InstrumentIndex.build(instruments))
        ]
        request = HistoryRequest(keys, args.interval, start, end)
        check_request(request, today)
    except BadRequest as e:
        log.error("%s", e)
        outcome.append((None, str(e)))
        return 2
    except (StoreError, UpstoxError, OSError) as e:
        log.error("cannot load the instrument master: %s", e)
        outcome.append((None, f"cannot load the instrument master: {e}"))
        return 1
    try:
        store, where = open_tick_store(settings)
    except (StoreError, OSError) as e:
        log.error("cannot open the tick store: %s", e)
        outcome.append((None, f"cannot open the tick store: {e}"))
        return 1
    log.info("backfill %s of %d instruments into %s", args.interval, len(keys), where)
    bar = ProgressBar(sys.stderr)
    config = RestConfig(api_base=settings.upstox.api_base, ca_file=settings.upstox.ca_file)

    async def main() -> BackfillReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with UpstoxRestClient(token_source(settings), config) as client:
            return await backfill(
                request,
                client=client,
                store=store,
                calendar=settings.calendar(),
                clock=clock,
                force=args.force,
                progress=bar,
                stop=stop,
                in_flight=in_flight,
            )

    try:
        report = asyncio.run(main())
    except (UpstoxAuthError, StoreError) as e:
        bar.finish()
        log.error("backfill stopped: %s (a re-run fetches what is missing)", e)
        outcome.append((None, f"backfill stopped: {e}"))
        return 1
    finally:
        store.close()
    bar.finish()
    outcome.append((report, None))
    sys.stdout.write(_summary(report))
    return 1 if report.errors else 0
