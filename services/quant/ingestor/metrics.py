"""Prometheus metrics of the ingestor, on a registry the composition root provides.

Counted, never logged per tick (STYLE 22): ticks per mode (rate = ticks/s), greeks,
decode errors, ticks dropped by the feed decoders' value checks by reason
(``quant_feed_rejected_ticks_total``), reconnects, refused subscription requests by
reason kind, feed age per instrument (seconds since its last tick, refreshed by the
publisher), publish latency from ``ts_init`` to hand-off to the bus, the depth of the
bounded event queue, and whether the feed is waiting for a new access token
(:mod:`quant.ingestor.token_wait`).

Freshness by exchange time (see :mod:`quant.ingestor.freshness`): per connection the lag
of each frame (receive minus exchange time; last value and histogram), the age of its
newest data and the stale reconnects; per instrument the lag of its last tick (labelled
by instrument_key, bounded like ``feed_age`` by the feed's subscription limits); the
number of stale instruments and whether continuous trading is on (freshness is judged
only then).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from quant.upstox.checks import REASONS

_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
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
        self.waiting_for_token = Gauge(
            "ingestor_waiting_for_token",
            "1 while the feed waits for a new Upstox access token (the last one was refused)",
            registry=registry,
        )
        self.token_refusals = Counter(
            "ingestor_token_refusals",
            "Times a feed socket found its Upstox access token refused (401) or missing",
            registry=registry,
        )
        self.connection_lag = Gauge(
            "ingestor_feed_lag_seconds",
            "Receive minus exchange time (currentTs) of the newest frame, per connection",
            ["socket"],
            registry=registry,
        )
        self.frame_lag = Histogram(
            "ingestor_feed_frame_lag_seconds",
            "Receive minus exchange time (currentTs) of each frame, per connection",
            ["socket"],
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.connection_age = Gauge(
            "ingestor_feed_data_age_seconds",
            "Now minus the newest exchange time a connection delivered (counted from when "
            "data was expected: start, or the open of continuous trading)",
            ["socket"],
            registry=registry,
        )
        self.stale_reconnects = Counter(
            "ingestor_stale_reconnects",
            "Feed sockets reconnected because their data was too old by exchange time",
            ["socket"],
            registry=registry,
        )
        self.instrument_lag = Gauge(
            "ingestor_instrument_lag_seconds",
            "Receive minus exchange time of the last tick, per instrument",
            ["instrument_key"],
            registry=registry,
        )
        self.stale_instruments = Gauge(
            "ingestor_stale_instruments",
            "Instruments whose newest data is older than the stale threshold by exchange time",
            registry=registry,
        )
        self.market_open = Gauge(
            "ingestor_market_open",
            "1 during continuous trading (when freshness is judged by default), else 0",
            registry=registry,
        )
