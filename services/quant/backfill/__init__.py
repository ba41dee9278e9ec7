"""Historical candles from the Upstox V3 API into the tick store's ``ohlc`` table.

:func:`backfill` is the library entry (``quant backfill``, the service form
:mod:`quant.backfill.main` for ``quant up`` and the operator's end-of-day Job, and the
scanner's start-of-day step): a :class:`HistoryRequest` is planned into per-instrument
requests within Upstox's range rules (:mod:`quant.backfill.plan`), only what the store
lacks is fetched, bad candles are dropped and counted and gaps counted
(:mod:`quant.backfill.checks`), and a :class:`BackfillReport` says how it went.
"""

from quant.backfill.engine import (
    BackfillProgress,
    BackfillReport,
    CandleSource,
    ProgressFn,
    backfill,
)
from quant.backfill.plan import BadRequest, HistoryRequest, Interval

__all__ = [
    "BackfillProgress",
    "BackfillReport",
    "BadRequest",
    "CandleSource",
    "HistoryRequest",
    "Interval",
    "ProgressFn",
    "backfill",
]
