"""Stored history for the gateway: which candles a request reads, and a store opened on use.

:func:`read_candles` answers one candles request from a
:class:`~quant.gateway.ports.HistoryReader`: 1-minute candles as stored
(``interval_seconds`` 60), 5- and 15-minute bars aggregated from them
(:func:`quant.analytics.resample.resample_minutes`, aligned to the 09:15 session open),
day bars from the stored day candles (``interval_seconds`` 86400) and, for the days after
the last stored one (today, before the end-of-day backfill), from the minutes.

:class:`OpenOnUse` wraps the standalone gateway's QuestDB store: it is opened by the first
request that needs it (and again after it failed, at most every
:data:`RETRY_AFTER_S`), never at start-up, so a QuestDB that does not answer costs the
candles and scanner endpoints a 503 but neither the gateway's start nor its readiness
(quotes do not need it). Blocking: called from worker threads.
"""

from __future__ import annotations

import threading
from typing import Protocol

from quant.analytics.resample import DAY_NS, DAY_SECONDS, daily_from_minutes, resample_minutes
from quant.core.clock import Clock
from quant.core.events import Candle, ScannerSuggestion
from quant.gateway.ports import HistoryReader
from quant.gateway.timerange import MINUTES, Interval, TimeRange
from quant.store.ports import StoreError

MINUTE_SECONDS = 60
RETRY_AFTER_S = 5.0
OPEN_TIMEOUT_S = 2.0


def read_candles(
    history: HistoryReader, instrument_key: str, interval: Interval, span: TimeRange
) -> list[Candle]:
    """The candles of ``instrument_key`` in ``span`` at ``interval``, oldest first."""
    start, end = span
    if interval != "1d":
        minutes = history.candles(instrument_key, start, end, MINUTE_SECONDS)
        step = MINUTES[interval]
        return minutes if step == 1 else resample_minutes(minutes, step)
    days = history.candles(instrument_key, start, end, DAY_SECONDS)
    after = start if not days else max(start, days[-1].ts_start + DAY_NS)
    if after < end:
        days += daily_from_minutes(history.candles(instrument_key, after, end, MINUTE_SECONDS))
    return days


class ServerStore(HistoryReader, Protocol):
    """A tick store on a server (QuestDB): opened explicitly, can say whether it is."""

    @property
    def is_open(self) -> bool: ...

    def open(self, timeout: float | None = None) -> object: ...

    def close(self) -> None: ...


class OpenOnUse:
    """``store`` opened by the first call that needs it (see the module docstring)."""

    def __init__(self, store: ServerStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._failed_at_ns: int | None = None
        self._failure = ""

    def _opened(self) -> HistoryReader:
        if self._store.is_open:
            return self._store
        with self._lock:
            if self._store.is_open:
                return self._store
            now = self._clock.now_ns()
            if self._failed_at_ns is not None and now - self._failed_at_ns < RETRY_AFTER_S * 1e9:
                raise StoreError(self._failure)
            try:
                self._store.open(OPEN_TIMEOUT_S)
            except StoreError as e:
                self._failed_at_ns, self._failure = now, str(e)
                raise
            self._failed_at_ns = None
            return self._store

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        return self._opened().candles(instrument_key, start_ns, end_ns, interval_seconds)

    def latest_suggestions(self, limit: int = 20) -> list[ScannerSuggestion]:
        return self._opened().latest_suggestions(limit)

    def close(self) -> None:
        with self._lock:
            if self._store.is_open:
                self._store.close()
