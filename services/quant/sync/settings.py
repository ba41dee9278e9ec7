"""The one settings object of ``quant sync-instruments`` (built in its run function).

The sanity limits (:mod:`quant.sync.checks`) are plain fields: ``QUANT_MIN_SEGMENT_FRACTION``
(0.9), ``QUANT_MAX_BAD_ROW_FRACTION`` (0.01), ``QUANT_MAX_DOWNLOAD_BYTES`` (64 MiB per
file), ``QUANT_MAX_MASTER_BYTES`` (512 MiB inflated), ``QUANT_DEADLINE_S`` (600), and
``QUANT_METRICS_FILE`` (the command's metrics, in the textfile collector format).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field

from quant.runtime.settings import ServiceSettings
from quant.store.settings import PostgresSettings
from quant.sync.checks import SyncLimits
from quant.upstox.instruments import MAX_DOWNLOAD_BYTES, MAX_MASTER_BYTES
from quant.upstox.settings import UpstoxSettings


class SyncSettings(ServiceSettings):
    """Env prefix ``QUANT_``, nesting with ``__`` (e.g. ``QUANT_UPSTOX__ASSETS_BASE``)."""

    upstox: UpstoxSettings = UpstoxSettings()
    postgres: PostgresSettings = PostgresSettings()
    relational_store: Literal["postgres", "sqlite"] = "postgres"
    sqlite_path: Path = Path.home() / ".local" / "share" / "quant-platform" / "relational.sqlite"
    instrument_files: tuple[str, ...] = ("NSE", "BSE")
    min_instruments: int = 1
    # refuse a segment with fewer rows than this share of yesterday's (--force accepts)
    min_segment_fraction: float = Field(default=0.9, ge=0.0, le=1.0)
    # refuse a master with more impossible rows than this share (fewer are dropped)
    max_bad_row_fraction: float = Field(default=0.01, ge=0.0, le=1.0)
    max_download_bytes: int = Field(default=MAX_DOWNLOAD_BYTES, gt=0)  # per file, as sent
    max_master_bytes: int = Field(default=MAX_MASTER_BYTES, gt=0)  # per file, inflated
    deadline_s: float = Field(default=600.0, gt=0.0)  # the whole sync
    metrics_file: Path | None = None
    # the day the master is for, against which expiry is judged (the operator's Job sets
    # QUANT_TRADING_DAY); default: today in IST
    trading_day: date | None = None

    def limits(self, *, force: bool = False, min_rows: int | None = None) -> SyncLimits:
        return SyncLimits(
            min_rows=self.min_instruments if min_rows is None else min_rows,
            min_segment_fraction=self.min_segment_fraction,
            max_bad_row_fraction=self.max_bad_row_fraction,
            deadline_s=self.deadline_s,
            force=force,
        )
