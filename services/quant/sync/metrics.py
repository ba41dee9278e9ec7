"""Prometheus metrics of the instrument sync, on a registry the composition root provides.

``quant up`` registers them on the platform's registry (served on ``/metrics``);
``quant sync-instruments``, a one-shot command, writes them to ``metrics_file`` (the
node exporter's textfile collector format) when one is configured.

* ``instrument_sync_refusals_total{rule}``: syncs refused or failed, by rule
  (:mod:`quant.sync.checks`: row_count, bad_rows, too_few_rows, duplicate_key,
  size_limit, deadline, download, store);
* ``instrument_sync_dropped_rows_total{segment,reason}``: impossible rows dropped;
* ``instrument_sync_rows{segment}`` / ``instrument_sync_yesterday_rows{segment}``: rows
  per segment in the last master judged, and live in the store before it;
* ``instrument_sync_last_success_timestamp_seconds``: when a master was last applied.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge

from quant.sync.checks import SegmentCount


class SyncMetrics:
    """The instrument sync's metric families."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.refusals = Counter(
            "instrument_sync_refusals",
            "Instrument syncs refused or failed (stored instruments unchanged), by rule",
            ["rule"],
            registry=registry,
        )
        self.dropped = Counter(
            "instrument_sync_dropped_rows",
            "Impossible instrument master rows dropped, by segment and reason",
            ["segment", "reason"],
            registry=registry,
        )
        self.rows = Gauge(
            "instrument_sync_rows",
            "Rows per segment in the last instrument master judged",
            ["segment"],
            registry=registry,
        )
        self.yesterday = Gauge(
            "instrument_sync_yesterday_rows",
            "Rows per segment live in the store before the last sync (yesterday's master)",
            ["segment"],
            registry=registry,
        )
        self.last_success = Gauge(
            "instrument_sync_last_success_timestamp_seconds",
            "Unix time of the last instrument master applied",
            registry=registry,
        )

    def refused(self, rule: str) -> None:
        self.refusals.labels(rule=rule).inc()

    def judged(self, segments: list[SegmentCount], dropped: Mapping[tuple[str, str], int]) -> None:
        for c in segments:
            self.rows.labels(segment=c.segment).set(c.rows)
            self.yesterday.labels(segment=c.segment).set(c.yesterday)
        for (segment, reason), n in dropped.items():
            self.dropped.labels(segment=segment, reason=reason).inc(n)

    def applied(self, unix_seconds: float) -> None:
        self.last_success.set(unix_seconds)
