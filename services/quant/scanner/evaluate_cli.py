"""The argparse part of ``quant scanner evaluate``: replay stored history, judge the picks.

    quant scanner evaluate --from 2026-11-02 --to 2026-11-27
    quant scanner evaluate --from 2026-11-23 --to 2026-11-27 --every 15 --top 10 \\
        --universe RELIANCE,INFY,TCS --csv picks.csv --json report.json

Reads the candles ``quant backfill`` stored: QuestDB when ``QUANT_QUESTDB__HOST`` (or
another ``QUANT_QUESTDB__*``) is set, else ``ticks.sqlite`` in ``QUANT_DATA_DIR`` (the
store ``quant up`` uses). The universe (default ``NSE_EQ``: every NSE equity of the
instrument master) is resolved through the master: PostgreSQL with
``QUANT_POSTGRES__DSN``, else the embedded store in ``QUANT_DATA_DIR``, else a download
from ``QUANT_UPSTOX__ASSETS_BASE``. Exit status: 0 done, 1 nothing to replay (no tick
store, no stored candles in the range: the message says what to backfill; or the store or
the master cannot be read), 2 bad arguments (an unknown symbol, ``--from`` after ``--to``).

``quant scanner`` registers the sub-command with :func:`add_evaluate_arguments` and runs
:func:`main_evaluate`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import field_validator

from quant.runtime.settings import ServiceSettings
from quant.scanner.settings import ScannerSettings
from quant.store.settings import PostgresSettings, QuestDBSettings
from quant.upstox.settings import UpstoxSettings
from quant.users.settings import DEFAULT_DATA_DIR

if TYPE_CHECKING:
    from quant.core.instruments import Instrument
    from quant.scanner.evaluate import UniverseName
    from quant.store.ports import TickStore

TICKS_FILE = "ticks.sqlite"


class EvaluateSettings(ServiceSettings):
    """The one settings object of ``quant scanner evaluate`` (prefix ``QUANT_``)."""

    questdb: QuestDBSettings | None = None
    postgres: PostgresSettings | None = None
    upstox: UpstoxSettings = UpstoxSettings()
    data_dir: Path = DEFAULT_DATA_DIR
    instrument_files: tuple[str, ...] = ("NSE", "BSE")
    # the live scanner's section (QUANT_SCANNER__*): cadence, weights, universe, filter
    scanner: ScannerSettings = ScannerSettings()

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _hhmm(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time (HH:MM): {text!r}") from None


def _minutes(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not minutes like 15,30,60: {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"horizons must be minutes >= 1: {text!r}")
    return values


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``quant scanner evaluate`` (the caller sets ``func``). Those not
    given take the scanner's settings (``QUANT_SCANNER__*``)."""
    parser.add_argument(
        "--from", dest="start", type=_date, required=True, metavar="DATE", help="first day"
    )
    parser.add_argument(
        "--to", dest="end", type=_date, required=True, metavar="DATE", help="last day"
    )
    parser.add_argument(
        "--universe",
        help="NSE_EQ (every NSE equity of the master) and/or comma-separated symbols",
    )
    parser.add_argument("--first-at", type=_hhmm, metavar="HH:MM", help="first cycle (09:20)")
    parser.add_argument("--until", type=_hhmm, metavar="HH:MM", help="last cycle of a day")
    parser.add_argument("--every", type=int, metavar="MIN", help="cycle cadence (5)")
    parser.add_argument("--top", type=int, metavar="N", help="picks per cycle (20)")
    parser.add_argument(
        "--horizons",
        type=_minutes,
        default=(15, 30, 60),
        metavar="M,M,..",
        help="forward-return horizons, minutes (15,30,60)",
    )
    parser.add_argument("--history-days", type=int, metavar="N", help="day candles (20)")
    parser.add_argument("--volume-days", type=int, metavar="N", help="minute volume (10)")
    parser.add_argument("--min-price", type=float, metavar="RUPEES", help="liquidity (20)")
    parser.add_argument(
        "--min-turnover", type=float, metavar="RUPEES", help="median daily turnover (1e7)"
    )
    parser.add_argument("--csv", type=Path, metavar="FILE", help="one row per pick")
    parser.add_argument("--json", type=Path, metavar="FILE", help="the summary and the picks")


def scanner_settings(base: ScannerSettings, args: argparse.Namespace) -> ScannerSettings:
    """``base`` with the arguments given on the command line (validated again)."""
    given = {
        "first_at": args.first_at,
        "interval_seconds": None if args.every is None else args.every * 60,
        "top_n": args.top,
        "history_days": args.history_days,
        "volume_days": args.volume_days,
        "min_price": args.min_price,
        "min_turnover": args.min_turnover,
        "universe": None if args.universe is None else tuple(args.universe.split(",")),
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    if args.history_days is not None:  # the lookbacks fit the history asked for
        for name in ("high_days", "contraction_long"):
            overrides.setdefault(name, min(getattr(base, name), args.history_days))
        if overrides["contraction_long"] <= base.contraction_short:
            overrides["contraction_short"] = max(overrides["contraction_long"] - 1, 1)
    return ScannerSettings.model_validate({**base.model_dump(), **overrides})


def load_master(settings: EvaluateSettings) -> list[Instrument]:
    """The instrument master (see the module docstring)."""
    from quant.users.settings import RELATIONAL_FILE

    if settings.postgres is not None:
        from quant.store.postgres import PostgresStore

        pg = PostgresStore.from_settings(settings.postgres).open(timeout=10.0)
        try:
            return pg.list_instruments()
        finally:
            pg.close()
    path = settings.data_dir / RELATIONAL_FILE
    if path.exists():
        from quant.store.sqlite_relational import SqliteRelationalStore

        sq = SqliteRelationalStore(path).open()
        try:
            found = sq.list_instruments()
        finally:
            sq.close()
        if found:
            return found
    import asyncio

    from quant.upstox.instruments import UpstoxInstrumentSource

    source = UpstoxInstrumentSource(
        settings.upstox.assets_base, settings.instrument_files, ca_file=settings.upstox.ca_file
    )
    return asyncio.run(source.fetch(lambda phase, done, total: None))


def open_tick_store(settings: EvaluateSettings) -> TickStore:
    """QuestDB when configured, else the embedded store of ``quant up`` (must exist)."""
    if settings.questdb is not None:
        from quant.store.questdb_ticks import QuestDBTickStore

        return QuestDBTickStore.from_settings(settings.questdb).open(timeout=10.0)
    from quant.store.sqlite_ticks import SqliteTickStore

    path = settings.data_dir / TICKS_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"no tick store at {path}: run `quant backfill` first (or set QUANT_DATA_DIR, "
            "or QUANT_QUESTDB__HOST for QuestDB)"
        )
    return SqliteTickStore(path).open()


def resolve_universe(
    master: Sequence[Instrument], entries: Sequence[str]
) -> tuple[list[UniverseName], frozenset[str]]:
    """The scanner's universe entries against the master (as the live scanner resolves
    them): the names, and the keys named one by one (scanned whatever their liquidity).
    ``ValueError`` naming any entry the master does not know as an equity."""
    from quant.scanner.evaluate import UniverseName
    from quant.scanner.universe import candidates

    found = candidates(master, entries)
    if found.unresolved:
        raise ValueError(f"not an equity of the instrument master: {', '.join(found.unresolved)}")
    names = [UniverseName(i.instrument_key, i.trading_symbol) for i in found.instruments]
    return names, found.explicit


def main_evaluate(args: argparse.Namespace, settings: EvaluateSettings | None = None) -> int:
    """Run ``quant scanner evaluate`` with parsed ``args``; returns the exit status."""
    from quant.core.calendar import NSE_CALENDAR
    from quant.scanner.evaluate import (
        EvaluateConfig,
        NoStoredCandles,
        format_report,
        run_evaluate,
        write_csv,
        write_json,
    )
    from quant.store.ports import StoreError
    from quant.upstox.errors import InstrumentMasterError

    def fail(error: Exception, status: int) -> int:
        print(f"quant scanner evaluate: {error}", file=sys.stderr)
        return status

    try:
        settings = settings or EvaluateSettings()
        config = EvaluateConfig(
            scanner=scanner_settings(settings.scanner, args),
            horizons=tuple(args.horizons),
            until=args.until,
        )
        if args.start > args.end:
            raise ValueError(f"--from {args.start} is after --to {args.end}")
    except ValueError as e:  # pydantic's ValidationError included
        return fail(e, 2)
    try:
        store = open_tick_store(settings)
    except (FileNotFoundError, StoreError) as e:
        return fail(e, 1)
    try:
        universe, explicit = resolve_universe(load_master(settings), config.scanner.universe)
        if not universe:
            raise ValueError(f"the universe {config.scanner.universe} has no NSE equity")
    except (InstrumentMasterError, StoreError) as e:
        store.close()
        return fail(e, 1)
    except ValueError as e:
        store.close()
        return fail(e, 2)

    def progress(day: date, cycles: int, names: int) -> None:
        print(f"  {day}: {cycles} cycles, {names} names scanned", file=sys.stderr, flush=True)

    try:
        report = run_evaluate(
            store,
            universe,
            args.start,
            args.end,
            config=config,
            explicit=explicit,
            calendar=NSE_CALENDAR,
            progress=progress,
        )
    except NoStoredCandles as e:
        return fail(e, 1)
    finally:
        store.close()
    print(format_report(report))
    if args.csv is not None:
        write_csv(report, args.csv, config.horizons)
        print(f"picks written to {args.csv}")
    if args.json is not None:
        write_json(report, args.json)
        print(f"report written to {args.json}")
    return 0
