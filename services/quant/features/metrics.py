"""Prometheus metrics of the feature service (on a registry from the composition root).

Throughput counters, decode errors, ticks dropped for out-of-range values, messages
skipped after a restore, the latency from ``ts_init`` to the enriched publish,
checkpoint duration and the bytes each snapshot save wrote, and the absolute difference
between Upstox's IV and ours for each option tick with both.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_IV_DIFF = (1e-6, 1e-5, 1e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1)


class FeatureMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.ticks = Counter("features_ticks", "Ticks consumed", registry=registry)
        self.enriched = Counter("features_enriched", "Enriched ticks published", registry=registry)
        self.candles = Counter("features_candles", "Candles published", registry=registry)
        self.decode_errors = Counter(
            "features_decode_errors", "Undecodable bus messages", registry=registry
        )
        self.rejected = Counter(
            "features_rejected_ticks",
            "Bus ticks with out-of-range values, dropped before enrichment",
            registry=registry,
        )
        self.skipped = Counter(
            "features_skipped_after_restore",
            "Redelivered messages already contained in the restored snapshot",
            registry=registry,
        )
        self.commit_failures = Counter(
            "features_commit_failures", "Offset commits that failed (retried)", registry=registry
        )
        self.latency = Histogram(
            "features_latency_seconds",
            "Time from ts_init to the enriched publish",
            buckets=_LATENCY,
            registry=registry,
        )
        self.checkpoint_seconds = Histogram(
            "features_checkpoint_seconds",
            "Flush + snapshot + commit duration",
            buckets=_LATENCY,
            registry=registry,
        )
        self.snapshot_bytes = Counter(
            "features_snapshot_written_bytes",
            "Bytes written by snapshot saves (new history pieces and the main file)",
            registry=registry,
        )
        self.iv_diff = Histogram(
            "features_iv_abs_diff",
            "Absolute difference between Upstox's IV and ours (per option tick)",
            buckets=_IV_DIFF,
            registry=registry,
        )
