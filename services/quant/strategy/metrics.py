"""Prometheus metrics of the strategy runtime (prefix ``quant_strategy_``), per strategy.

The host keeps the counters (``StrategyHost.status()``: plain data); the service copies a
snapshot of them every ``status_every_s`` (and at start, stop and each failure) and
:class:`StrategyCollector` exports the latest snapshot when scraped, so the scrape (on the
health server's thread) never reads the host while it runs. Per strategy (label
``strategy``): callbacks run (``events_total``), ``intents_total``, ``cancels_total``,
``fills_total``, ``errors_total``, ``running`` (1 while it runs, 0 stopped or failed),
``open_orders``, ``open_positions``, ``pnl_rupees{kind=realised|unrealised}`` (before
charges) and the callback latency histogram ``callback_latency_seconds``.
:class:`RuntimeMetrics` counts what only the service sees: undecodable bus messages per
topic and commands published.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from quant.trading.strategy import RunState, StrategyStatus
from quant.trading.strategy.stats import LATENCY_BOUNDS_NS

PREFIX = "quant_strategy_"
_NS = 1e9


class StrategyCollector(Collector):
    """Exports the latest ``StrategyStatus`` snapshot; see the module docstring."""

    def __init__(self) -> None:
        self.snapshot: Sequence[StrategyStatus] = ()

    def describe(self) -> Iterator[Metric]:
        return self._families(())

    def collect(self) -> Iterator[Metric]:
        return self._families(self.snapshot)

    def _families(self, snapshot: Sequence[StrategyStatus]) -> Iterator[Metric]:
        counters = {
            "events": "Callbacks run (events handled), per strategy",
            "intents": "Order intents emitted, per strategy",
            "cancels": "Cancel requests emitted, per strategy",
            "fills": "Fills received, per strategy",
            "errors": "Callbacks that raised (the strategy was stopped) or states not saved",
        }
        for name, doc in counters.items():
            c = CounterMetricFamily(PREFIX + name, doc, labels=["strategy"])
            for s in snapshot:
                c.add_metric([s.strategy_id], getattr(s, name))
            yield c
        gauges = {
            "running": ("1 while the strategy runs, 0 once stopped or failed", _running),
            "open_orders": ("Orders not final yet", lambda s: s.open_orders),
            "open_positions": ("Positions not flat", lambda s: s.open_positions),
        }
        for name, (doc, value) in gauges.items():
            g = GaugeMetricFamily(PREFIX + name, doc, labels=["strategy"])
            for s in snapshot:
                g.add_metric([s.strategy_id], value(s))
            yield g
        pnl = GaugeMetricFamily(
            PREFIX + "pnl_rupees",
            "The strategy's P&L in rupees before charges: realised, unrealised at the last prices",
            labels=["strategy", "kind"],
        )
        for s in snapshot:
            pnl.add_metric([s.strategy_id, "realised"], s.realised_pnl / 100)
            pnl.add_metric([s.strategy_id, "unrealised"], s.unrealised_pnl / 100)
        yield pnl
        h = HistogramMetricFamily(
            PREFIX + "callback_latency_seconds",
            "How long the strategy's callbacks took",
            labels=["strategy"],
        )
        for s in snapshot:
            cumulative, buckets = 0, []
            for bound, n in zip(LATENCY_BOUNDS_NS, s.latency_buckets, strict=False):
                cumulative += n
                buckets.append((repr(bound / _NS), float(cumulative)))
            buckets.append(("+Inf", float(s.latency_count)))
            h.add_metric([s.strategy_id], buckets, s.latency_sum_ns / _NS)
        yield h


def _running(s: StrategyStatus) -> float:
    return 1.0 if s.state is RunState.RUNNING else 0.0


class RuntimeMetrics:
    """The service's own counters, and the per-strategy collector, on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.strategies = StrategyCollector()
        registry.register(self.strategies)
        self.bad_messages_total = Counter(
            PREFIX + "bad_messages",
            "Bus messages the runtime could not decode (skipped, logged), by topic",
            ["topic"],
            registry=registry,
        )
        self.published_total = Counter(
            PREFIX + "published",
            "Commands published on orders.intents, by kind (intent, cancel)",
            ["kind"],
            registry=registry,
        )
