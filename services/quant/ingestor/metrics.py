"""Prometheus metrics of the ingestor, on a registry the composition root provides.

Counted, never logged per tick (STYLE 22): ticks per mode (rate = ticks/s), greeks,
decode errors, ticks dropped by the feed decoders' value checks by reason
(``quant_feed_rejected_ticks_total``), reconnects, refused subscription requests by
reason kind, feed age per instrument (seconds since its last tick, refreshed by the
publisher), publish latency from ``ts_init`` to hand-off to the bus, and the depth of the
bounded event queue.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from quant.upstox.checks import REASONS

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class IngestorMetrics:
    """The ingestor's metric families."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.ticks = Counter(
            "ingestor_ticks", "Ticks published, by feed mode", ["mode"], registry=registry
        )
        self.greeks = Counter("ingestor_greeks", "Option greeks published", registry=registry)
        self.decode_errors = Counter(
            "ingestor_decode_errors", "Feed frames that failed to decode", registry=registry
        )
        self.rejected = Counter(
            "quant_feed_rejected_ticks",
            "Feed ticks dropped by the decoders' value checks, by reason (unknown_key, "
            "timestamp, price, price_band, quantity; greeks: the greeks event alone)",
            ["reason"],
            registry=registry,
        )
        for reason in REASONS:
            self.rejected.labels(reason)
        self.reconnects = Counter(
            "ingestor_reconnects", "Feed reconnections, by socket", ["socket"], registry=registry
        )
        self.refused = Counter(
            "ingestor_refused_subscriptions",
            "Instrument subscriptions refused, by mode and reason (limit, not_subscribed, "
            "invalid_key: by the subscription book; venue: by the feed client or server)",
            ["mode", "reason"],
            registry=registry,
        )
        self.subscribed = Gauge(
            "ingestor_subscribed_instruments",
            "Subscribed instruments by mode",
            ["mode"],
            registry=registry,
        )
        self.feed_age = Gauge(
            "ingestor_feed_age_seconds",
            "Seconds since the last tick, per instrument",
            ["instrument_key"],
            registry=registry,
        )
        self.publish_latency = Histogram(
            "ingestor_publish_latency_seconds",
            "Time from local receive (ts_init) to hand-off to the bus",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "ingestor_queue_depth", "Event batches waiting for the publisher", registry=registry
        )
