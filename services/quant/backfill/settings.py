"""The one settings object of ``quant backfill`` and its service form (prefix ``QUANT_``).

Where candles come from (``QUANT_UPSTOX__API_BASE``: Upstox, or the simulator's URL) and
where they go: QuestDB when ``QUANT_QUESTDB__HOST`` (or another ``QUANT_QUESTDB__*``) is
set, else the embedded tick store that ``quant up`` reads, ``ticks.sqlite`` under
``QUANT_DATA_DIR``. The instrument master: PostgreSQL when ``QUANT_POSTGRES__DSN`` is set,
else the embedded relational store under ``QUANT_DATA_DIR`` when it holds one, else a
download from ``QUANT_UPSTOX__ASSETS_BASE``. The service form (the operator's end-of-day
Job, ``quant up``) reads what to fetch from ``QUANT_BACKFILL__*`` (:class:`BackfillJob`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, field_validator

from quant.backfill.plan import Interval
from quant.core.calendar import ExchangeCalendar, calendar_for
from quant.runtime.settings import Section, ServiceSettings
from quant.store.settings import PostgresSettings, QuestDBSettings
from quant.upstox.settings import UpstoxSettings
from quant.users.settings import DEFAULT_DATA_DIR

TICKS_FILE = "ticks.sqlite"


class BackfillJob(Section):
    """What the service form fetches (``QUANT_BACKFILL__*``): the candles of ``universe``
    (symbols, instrument keys or named universes such as ``NSE_EQ``, ``NIFTY50``) for
    each of ``intervals``, over the last ``day_lookback_days`` calendar days for day
    candles and ``minute_lookback_days`` for minutes, up to ``end`` (default: today,
    IST, on the service's clock). Only what the store lacks is fetched.
    ``termination_log`` is read by the command too (see the field)."""

    universe: tuple[str, ...] = ("NSE_EQ", "NIFTY 50")
    intervals: tuple[Interval, ...] = ("day", "1minute")
    day_lookback_days: int = Field(default=400, ge=0)
    minute_lookback_days: int = Field(default=5, ge=0)
    end: date | None = None
    force: bool = False
    # `quant backfill` writes its summary here as one line of JSON when it ends (the
    # operator's Job: Kubernetes' /dev/termination-log, read into the TradingDay's status)
    termination_log: Path | None = None


class BackfillSettings(ServiceSettings):
    upstox: UpstoxSettings = UpstoxSettings()
    postgres: PostgresSettings | None = None
    questdb: QuestDBSettings | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    instrument_files: tuple[str, ...] = ("NSE", "BSE")
    exchange: str = "NSE"  # whose calendar (NSE and BSE share the equity holidays)
    # listed holidays the market trades anyway (QUANT_OPEN_HOLIDAYS='["2026-11-24"]': the
    # simulator's session day); candles of other closed days are dropped as outside_session
    open_holidays: tuple[date, ...] = ()
    in_flight: int = Field(default=4, ge=1, le=32)  # requests in flight
    backfill: BackfillJob = BackfillJob()

    def calendar(self) -> ExchangeCalendar:
        """The exchange calendar the candles are checked against."""
        return calendar_for(self.exchange).without_holidays(self.open_holidays)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()
