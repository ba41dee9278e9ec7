"""The stream API's Prometheus metrics, read from the current :class:`StreamHub` on scrape.

``gateway_stream_connections`` (gauge), ``gateway_stream_messages_total`` (data messages
offered to clients), ``gateway_stream_conflated_total`` (quotes replaced by a newer one
before the client took them) and ``gateway_stream_dropped_total{reason}`` (clients
disconnected: ``slow_consumer``, ``too_many_connections``). Registered once per process
(the gateway service makes it in its constructor); each run points it at its hub, so
the hot path counts in plain integers and a scrape reads them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from quant.gateway.stream_hub import DROP_REASONS, StreamHub


class StreamMetrics(Collector):
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.hub: StreamHub | None = None
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        connections = GaugeMetricFamily(
            "gateway_stream_connections", "WebSocket clients of /api/v1/stream"
        )
        connections.add_metric([], 0 if hub is None else hub.connections())
        yield connections
        yield CounterMetricFamily(
            "gateway_stream_messages",
            "Data messages offered to stream clients",
            value=0 if hub is None else hub.messages_out,
        )
        yield CounterMetricFamily(
            "gateway_stream_conflated",
            "Quotes replaced by a newer one before the stream client took them",
            value=0 if hub is None else hub.conflated,
        )
        dropped = CounterMetricFamily(
            "gateway_stream_dropped",
            "Stream clients disconnected by the gateway",
            labels=["reason"],
        )
        for reason in DROP_REASONS:
            dropped.add_metric([reason], 0 if hub is None else hub.dropped[reason])
        yield dropped
