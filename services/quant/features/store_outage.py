"""How the feature service lives through a tick store that refuses its writes.

The store's background writer (``quant.store.batching.BatchingWriter``) retries a failed
write with :func:`retry_delays` (exponential, capped, jittered: ``store_retry`` in the
settings) while the service goes on consuming and publishing; its checkpoints wait for
the writes, so no Kafka offset is committed past a row the store has not taken, and when
the store is back the writer catches up (the same rows again: idempotent upserts).

:class:`StoreOutage` is the writer's listener: it counts each retry
(``features_store_write_retries_total``), sets ``features_store_down`` (1 while writes
fail), logs the first failure, then at most one line per ``log_every_s`` while it lasts,
and the recovery with the outage's length; and :meth:`StoreOutage.reason` is what
``/readyz`` says meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from quant.features.settings import StoreRetrySettings
from quant.runtime.supervisor import Backoff

log = logging.getLogger(__name__)


def retry_delays(settings: StoreRetrySettings) -> Callable[[int], float]:
    """Seconds before retry ``attempt`` (1, 2, ...): ``initial_s * 2**(attempt-1)``, capped
    at ``max_s``, drawn from the upper half (jitter)."""
    backoff = Backoff(initial_s=settings.initial_s, max_s=settings.max_s)
    return backoff.delay


class StoreOutageMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.retries = Counter(
            "features_store_write_retries",
            "Tick-store writes that failed and are retried (the same rows again)",
            registry=registry,
        )
        self.down = Gauge(
            "features_store_down",
            "1 while tick-store writes fail and are being retried",
            registry=registry,
        )


class StoreOutage:
    """The writer's :class:`~quant.store.batching.RetryListener`: metrics, log, readiness."""

    def __init__(
        self,
        metrics: StoreOutageMetrics,
        store_name: str,
        *,
        log_every_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._store = store_name
        self._log_every = log_every_s
        self._now = monotonic
        self._lock = threading.Lock()
        self._since: float | None = None
        self._error = ""
        self._logged_at = 0.0
        self._retries_logged = 0

    def write_failed(self, error: BaseException, attempt: int, delay_s: float) -> None:
        now = self._now()
        self._metrics.retries.inc()
        self._metrics.down.set(1)
        with self._lock:
            if self._since is None:
                self._since = now
            self._error = str(error) or type(error).__name__
            first = attempt == 1
            due = first or now - self._logged_at >= self._log_every
            if due:
                self._logged_at = now
            since = self._since
        if first:
            log.error(
                "%s refused a write: %s; retrying in %.1f s (Kafka offsets are not committed "
                "until it takes the rows)",
                self._store,
                error,
                delay_s,
            )
        elif due:
            log.warning(
                "%s writes still failing after %.0f s (%d retries): %s; next in %.1f s",
                self._store,
                now - since,
                attempt,
                error,
                delay_s,
            )

    def write_recovered(self, attempts: int, outage_s: float) -> None:
        self._metrics.down.set(0)
        with self._lock:
            self._since = None
            self._error = ""
        log.warning(
            "%s takes writes again after %.1f s (%d retries); catching up",
            self._store,
            outage_s,
            attempts,
        )

    def reason(self) -> str | None:
        """Why the service is not ready while writes fail; ``None`` when they do not."""
        with self._lock:
            if self._since is None:
                return None
            away = self._now() - self._since
            return (
                f"{self._store} writes failing for {away:.0f} s, retrying (Kafka commits "
                f"held): {self._error}"
            )
