"""Prometheus metrics of the scanner (``quant_scanner_*``, on the process's registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_CYCLE = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)


class ScannerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.cycle_seconds = Histogram(
            "quant_scanner_cycle_seconds",
            "Wall time of a cycle: quotes, history, compute (not the publish)",
            buckets=_CYCLE,
            registry=registry,
        )
        self.cycles = Counter("quant_scanner_cycles", "Cycles completed", registry=registry)
        self.picks = Gauge("quant_scanner_picks", "Picks of the latest cycle", registry=registry)
        self.published = Counter(
            "quant_scanner_picks_published", "Picks published on scanner.suggestions",
            registry=registry,
        )  # fmt: skip
        self.universe = Gauge(
            "quant_scanner_universe_size",
            "Names scanned (candidates passing the liquidity filter)",
            registry=registry,
        )
        self.candidates = Gauge(
            "quant_scanner_candidates", "Names of the configured universe", registry=registry
        )
        self.quoted = Gauge(
            "quant_scanner_quoted", "Scanned names quoted in the latest cycle", registry=registry
        )
        self.scored = Gauge(
            "quant_scanner_scored", "Scanned names with a score in the latest cycle",
            registry=registry,
        )  # fmt: skip
        self.errors = Counter(
            "quant_scanner_errors",
            "Failures by stage (cycle: quotes or store; fill: a history backfill)",
            ["stage"],
            registry=registry,
        )
