"""Prometheus metrics of the execution service (prefix ``quant_execution_``).

:class:`ExecutionMetrics` implements the engine's
:class:`~quant.execution.ports.EngineMetrics` port (orders by status, rejections by
reason, intents, the limiter's queue, trading states, the day's P&L, intent-to-ack
latency, reconciliation mismatches); :class:`ServiceMetrics` is what only the service
sees (bus messages it could not decode, recoveries). Made once per process on the
composition root's registry, so a restarted service keeps counting. Money is exported in
rupees (a gauge is a float; the books themselves stay in integer paise).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "quant_execution_"
_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PNL_KINDS = ("realised", "unrealised", "charges", "net")


class ExecutionMetrics:
    """The engine's metrics (the ``EngineMetrics`` port) on Prometheus."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.orders_total = Counter(
            PREFIX + "orders",
            "Order state changes journalled, by the status entered",
            ["status"],
            registry=registry,
        )
        self.rejections_total = Counter(
            PREFIX + "rejections",
            "Intents or orders rejected (risk, rate limit, no algo name, broker), by reason",
            ["reason"],
            registry=registry,
        )
        self.intents_total = Counter(
            PREFIX + "intents", "Intents submitted to the engine", registry=registry
        )
        self.limiter_queue_depth = Gauge(
            PREFIX + "limiter_queue_depth",
            "Orders waiting for their slot in the order-rate limiter",
            registry=registry,
        )
        self.trading_state_gauge = Gauge(
            PREFIX + "trading_state",
            "Trading state per scope (account or strategy): 0 ACTIVE, 1 REDUCING, 2 HALTED",
            ["scope"],
            registry=registry,
        )
        self.pnl_rupees = Gauge(
            PREFIX + "pnl_rupees",
            "The day's P&L of the account in rupees: realised, unrealised, charges, net",
            ["kind"],
            registry=registry,
        )
        self.intent_to_ack_seconds = Histogram(
            PREFIX + "intent_to_ack_seconds",
            "From an intent's arrival to the broker's acknowledgement of its order",
            buckets=_ACK_BUCKETS,
            registry=registry,
        )
        self.reconcile_mismatches_total = Counter(
            PREFIX + "reconcile_mismatches",
            "Differences between the journal and the broker found at recovery",
            registry=registry,
        )

    # --- the EngineMetrics port ------------------------------------------------------------

    def intent(self) -> None:
        self.intents_total.inc()

    def order_status(self, status: str) -> None:
        self.orders_total.labels(status).inc()

    def rejection(self, reason: str) -> None:
        self.rejections_total.labels(reason).inc()

    def queue_depth(self, depth: int) -> None:
        self.limiter_queue_depth.set(depth)

    def trading_state(self, scope: str, state: int) -> None:
        self.trading_state_gauge.labels(scope).set(state)

    def pnl(self, realised: int, unrealised: int, charges: int) -> None:
        values = (realised, unrealised, charges, realised + unrealised - charges)
        for kind, paise in zip(PNL_KINDS, values, strict=True):
            self.pnl_rupees.labels(kind).set(paise / 100)

    def intent_to_ack(self, seconds: float) -> None:
        self.intent_to_ack_seconds.observe(seconds)

    def reconcile_mismatch(self, count: int = 1) -> None:
        self.reconcile_mismatches_total.inc(count)


class ServiceMetrics:
    """What the service itself counts around the engine."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.bad_messages_total = Counter(
            PREFIX + "bad_messages",
            "Bus messages the service could not decode or apply (skipped, logged), by topic",
            ["topic"],
            registry=registry,
        )
        self.recoveries_total = Counter(
            PREFIX + "recoveries",
            "Engine recoveries run (one per service start)",
            registry=registry,
        )
