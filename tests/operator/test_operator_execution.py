"""The operator and the execution Deployment on the real control plane.

A live TradingDay's ``spec.mode`` and ``spec.riskLimits`` reach the execution container as
its settings' environment variables once the day is active (and only then: a day created
in advance for tomorrow changes nothing); a changed limit is re-applied, a removed one
taken off; the Deployment never runs more than one replica, and stays at one after the
close while the data services go to 0.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from tradingday_kit import (
    apply,
    container_env,
    execution_deployment,
    get,
    ist,
    items,
    operator_env,
    prepare_namespace,
    replicas,
    run_operator,
    set_clock,
    trading_day,
    wait_phase,
    wait_until,
)

pytestmark = [pytest.mark.operator, pytest.mark.slow]

DAY = date(2026, 11, 25)  # Wednesday: a normal NSE session
EXECUTION = "quant-execution"
LIMITS = {
    "maxOrderValue": "50000",
    "maxDailyLoss": "5000.5",
    "maxPositionQuantity": 500,
    "ordersPerSecond": 8,
    "rateMode": "reject",
    "squareOffAt": "15:10",
}


def _owned(env: dict[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k.startswith(("QUANT_MODE", "QUANT_RISK", "QUANT_RATE"))
        and k != "QUANT_RISK__STRATEGIES"  # the strategies' (test_operator_day_strategies)
    }


def _job_complete(cluster: Any, ns: str) -> bool:
    jobs = items(cluster, ns, "jobs", "quant-platform.io/component=instrument-sync")
    return any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for j in jobs
        for c in (j.get("status") or {}).get("conditions") or ()
    )


def _condition(cluster: Any, ns: str, name: str, kind: str) -> dict[str, Any] | None:
    status = get(cluster, ns, "tradingday", name).get("status") or {}
    found = [c for c in status.get("conditions") or () if c["type"] == kind]
    return found[0] if found else None


def test_the_days_mode_and_limits_reach_execution_which_never_exceeds_one_replica(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 7, 0))
    apply(cluster, execution_deployment(ns, replicas=2))
    tomorrow = trading_day(
        "tomorrow", ns, DAY + timedelta(days=1), mode="paper", riskLimits={"maxDailyLoss": "1"}
    )
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        apply(cluster, trading_day("day", ns, DAY, mode="live", riskLimits=LIMITS), tomorrow)
        wait_phase(cluster, ns, "day", "Pending")
        wait_phase(cluster, ns, "tomorrow", "Pending")
        # Before the day is active: back to one replica, but no settings yet.
        wait_until("execution at 1", lambda: replicas(cluster, ns)["execution"] == 1)
        assert "QUANT_MODE" not in container_env(cluster, ns, EXECUTION)

        set_clock(cluster, ns, ist(DAY, 8, 20))
        wait_phase(cluster, ns, "day", "SyncingInstruments")
        env = wait_until(
            "the day's settings on execution",
            lambda: (e := container_env(cluster, ns, EXECUTION)).get("QUANT_MODE") == "live" and e,
        )
        assert _owned(env) == {
            "QUANT_MODE": "live",
            "QUANT_RISK__MAX_ORDER_VALUE": "50000.00",
            "QUANT_RISK__MAX_DAILY_LOSS": "5000.50",
            "QUANT_RISK__MAX_POSITION_QUANTITY": "500",
            "QUANT_RATE__ORDERS_PER_SECOND": "8",
            "QUANT_RATE__MODE": "reject",
        }
        assert env["QUANT_SQUARE_OFF_AT"] == "15:10"
        # The chart's own env stays (the patch merges by name).
        assert env["QUANT_POSTGRES__DSN"] == "postgresql://x@pg/q"
        assert env["QUANT_UPSTOX__ACCESS_TOKEN"] == "*"
        cond = wait_until(
            "ExecutionConfigured",
            lambda: _condition(cluster, ns, "day", "ExecutionConfigured"),
        )
        assert cond["status"] == "True" and "QUANT_MODE=live" in cond["message"]

        # A lower loss limit, and the rate override dropped: the chart's rate applies again.
        patch = {"spec": {"riskLimits": {"maxDailyLoss": "2500", "ordersPerSecond": None}}}
        cluster.kubectl(
            "patch", "-n", ns, "tradingday", "day", "--type=merge", "-p", json.dumps(patch)
        )
        env = wait_until(
            "the new limit",
            lambda: (
                (e := container_env(cluster, ns, EXECUTION)).get("QUANT_RISK__MAX_DAILY_LOSS")
                == "2500.00"
                and e
            ),
        )
        assert "QUANT_RATE__ORDERS_PER_SECOND" not in env
        assert env["QUANT_RATE__MODE"] == "reject"

        # Someone scales the single execution point up by hand: it comes back to one.
        cluster.kubectl("scale", "-n", ns, "deployment", EXECUTION, "--replicas=3")
        wait_until("execution back to 1", lambda: replicas(cluster, ns)["execution"] == 1)

        # Trading, then after the close: the data services at 0, execution still one replica.
        wait_until("sync Job to complete (kwok)", lambda: _job_complete(cluster, ns), 60)
        set_clock(cluster, ns, ist(DAY, 10, 0))
        wait_phase(cluster, ns, "day", "Trading")
        wait_until("trading replicas", lambda: replicas(cluster, ns)["ingestor"] == 2)
        assert replicas(cluster, ns)["execution"] == 1
        set_clock(cluster, ns, ist(DAY, 16, 5))
        wait_phase(cluster, ns, "day", "Closed")
        wait_until("data services down", lambda: replicas(cluster, ns)["ingestor"] == 0)
        assert replicas(cluster, ns)["execution"] == 1

    # Tomorrow's day (Pending all along) never replaced today's settings.
    final = container_env(cluster, ns, EXECUTION)
    assert final["QUANT_MODE"] == "live"
    assert final["QUANT_RISK__MAX_DAILY_LOSS"] == "2500.00"
