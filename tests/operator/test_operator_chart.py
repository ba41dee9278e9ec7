"""The operator with the Helm chart: its Deployments, its least-privilege Role, restricted PSA.

Renders ``charts/quant-platform`` and applies the operator's ServiceAccount, Role and
RoleBinding, the settings ConfigMap and the platform Deployments into a namespace that
enforces the "restricted" Pod Security Standard. The operator then runs in-process as the
chart's ServiceAccount identity (client certificate) on an accelerated clock, so this
checks three agreements at once: the chart's labels are the ones the operator scales,
the Role grants everything the operator does (including the strategic merge patch that
puts the day's mode and limits on the execution container, and reading the backfill Job's
pods), and the sync and end-of-day backfill Jobs' pods are admitted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
import yaml
from tradingday_kit import (
    apply,
    container_env,
    get,
    ist,
    items,
    replicas,
    run_operator,
    token_for,
    token_secret,
    trading_day,
    wait_phase,
    wait_until,
)

from k8s_tools import CHART_DIR

pytestmark = [pytest.mark.operator, pytest.mark.slow]

RELEASE = "qp"
DAY = date(2026, 11, 25)
KINDS = {"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment"}


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _chart_objects(cluster: Any, namespace: str) -> list[dict[str, Any]]:
    out = cluster.helm("template", RELEASE, str(CHART_DIR), "--namespace", namespace).stdout
    objects = [o for o in yaml.safe_load_all(out) if o and o["kind"] in KINDS]
    # The operator runs in the test process; its Deployment would only be a kwok pod.
    return [
        o
        for o in objects
        if not (o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator"))
    ]


def test_the_chart_workloads_run_a_day_under_the_operator_role(
    k8s_cluster: Any, k8s_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    cluster.kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    objects = _chart_objects(cluster, ns)
    chart_gateway = next(
        o["spec"]["replicas"]
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-gateway")
    )
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=quant-tests", "-n", ns, "-f", "-",
        input=yaml.safe_dump_all(objects),
    )  # fmt: skip
    apply(cluster, token_secret(ns, token_for(DAY)))
    user = f"system:serviceaccount:{ns}:{RELEASE}-quant-platform-operator"
    kubeconfig = cluster.user_kubeconfig(user, ["system:serviceaccounts"])
    env = {
        "KUBECONFIG": str(kubeconfig),
        "QUANT_OPERATOR__NAMESPACE": ns,
        "QUANT_OPERATOR__RECONCILE_INTERVAL": "0.25",
        "QUANT_OPERATOR__SYNC_IMAGE": "quant-platform:test",
        # 08:14:00 IST, 300 day-seconds per second: pre-open 09:00 comes ~9 s in.
        "QUANT_CLOCK__MODE": "accelerated",
        "QUANT_CLOCK__START": ist(DAY, 8, 14).isoformat(),
        "QUANT_CLOCK__SPEED": "300",
    }
    spec = {
        "replicas": {"ingestor": 2, "features": 1, "scanner": 1, "strategy": 1},
        "mode": "live",
        "riskLimits": {"maxDailyLoss": "5000", "ordersPerSecond": 20},
    }
    execution = f"{RELEASE}-quant-platform-execution"
    with _env(env), run_operator(ns):
        apply(cluster, trading_day("chart-day", ns, DAY, **spec))
        body = wait_phase(cluster, ns, "chart-day", "Trading", timeout=90)
        gateway = replicas(cluster, ns)["gateway"]  # the chart's value: never touched
        wanted = {
            "ingestor": 2,
            "features": 1,
            "scanner": 1,
            "strategy": 1,
            "gateway": gateway,
            "execution": 1,
        }
        wait_until("chart Deployments scaled", lambda: replicas(cluster, ns) == wanted)
        # The day's mode and limits on the chart's execution container (a strategic merge
        # patch the operator's Role allows), beside the chart's own env.
        env_now = wait_until(
            "the day's settings on execution",
            lambda: (e := container_env(cluster, ns, execution)).get("QUANT_MODE") == "live" and e,
        )
    assert env_now["QUANT_RISK__MAX_DAILY_LOSS"] == "5000.00"
    assert env_now["QUANT_RATE__ORDERS_PER_SECOND"] == "20"
    assert json.loads(env_now["QUANT_ALGO_NAMES"]) == {"macross": "MAC-1"}
    # The day's strategies in the ConfigMap the chart's strategy Deployment mounts, created
    # and written under the operator's Role (create, and get/patch of that one name).
    cm = get(cluster, ns, "configmap", f"{RELEASE}-quant-platform-strategies")
    assert "quant.strategy.examples.ma_cross:MaCross" in cm["data"]["strategies.yaml"]
    assert cm["metadata"]["ownerReferences"][0]["name"] == "chart-day"
    assert env_now["QUANT_POSTGRES_PASSWORD"] == "*"  # the chart's secret ref is untouched
    strategy = get(cluster, ns, "deployment", execution)["spec"]["strategy"]
    assert strategy["type"] == "Recreate"
    assert gateway == chart_gateway
    jobs = items(cluster, ns, "jobs", "quant-platform.io/component=instrument-sync")
    assert [j["metadata"]["name"] for j in jobs] == ["chart-day-sync-20261125-1"]
    assert (jobs[0].get("status") or {}).get("succeeded") == 1  # restricted PSA admitted it
    assert body["status"]["instrumentSync"]["succeeded"] is True
    assert body["status"]["tokenExpiry"] == f"{DAY}T22:00:00Z"  # 03:30 IST the next day
    forbidden = [e for e in items(cluster, ns, "events") if "forbidden" in json.dumps(e).lower()]
    assert forbidden == []
    denied = [r.getMessage() for r in caplog.records if "forbidden" in r.getMessage().lower()]
    assert denied == []  # neither kopf nor the reconciler was refused anything


def test_a_short_day_runs_the_backfill_job_under_the_operator_role(
    k8s_cluster: Any, k8s_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A day whose session ends at 09:35 (schedule overrides): the backfill Job the
    operator builds from the chart's settings is admitted under restricted PSA, runs, and
    the day closes with its status; nothing the operator did was forbidden."""
    ns, cluster = k8s_namespace, k8s_cluster
    cluster.kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    objects = _chart_objects(cluster, ns)
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=quant-tests", "-n", ns, "-f", "-",
        input=yaml.safe_dump_all(objects),
    )  # fmt: skip
    apply(cluster, token_secret(ns, token_for(DAY)))
    user = f"system:serviceaccount:{ns}:{RELEASE}-quant-platform-operator"
    operator = next(
        o
        for o in yaml.safe_load_all(
            cluster.helm("template", RELEASE, str(CHART_DIR), "--namespace", ns).stdout
        )
        if o and o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator")
    )
    chart_env = {
        e["name"]: e["value"]
        for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"].startswith("QUANT_OPERATOR__") and "value" in e
    }
    env = {
        **chart_env,  # the backfill universe, the secret env, the token Secret, the ConfigMap
        "KUBECONFIG": str(cluster.user_kubeconfig(user, ["system:serviceaccounts"])),
        "QUANT_OPERATOR__NAMESPACE": ns,
        "QUANT_OPERATOR__RECONCILE_INTERVAL": "0.25",
        "QUANT_OPERATOR__SYNC_IMAGE": "quant-platform:test",
        "QUANT_CLOCK__MODE": "accelerated",
        "QUANT_CLOCK__START": ist(DAY, 8, 14).isoformat(),
        "QUANT_CLOCK__SPEED": "300",
    }
    schedule = {"marketClose": "09:30", "closingStart": "09:31", "closingEnd": "09:35"}
    with _env(env), run_operator(ns):
        apply(
            cluster,
            trading_day("short", ns, DAY, schedule=schedule, backfill={"startDelayMinutes": 0}),
        )
        body = wait_phase(cluster, ns, "short", "Closed", timeout=120)
    (job,) = items(cluster, ns, "jobs", "quant-platform.io/component=eod-backfill")
    assert (job.get("status") or {}).get("succeeded") == 1  # restricted PSA admitted it
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][:2] == ["--universe", "NSE_EQ"]  # the chart's default universe
    assert container["envFrom"] == [
        {"configMapRef": {"name": f"{RELEASE}-quant-platform-settings", "optional": True}}
    ]
    secret_env = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert {"QUANT_QUESTDB__USER", "QUANT_QUESTDB__PASSWORD"} <= secret_env
    assert body["status"]["backfill"]["state"] == "Succeeded"
    conditions = {c["type"]: c for c in body["status"]["conditions"]}
    assert conditions["BackfillSucceeded"]["status"] == "True"
    forbidden = [e for e in items(cluster, ns, "events") if "forbidden" in json.dumps(e).lower()]
    assert forbidden == []
    denied = [r.getMessage() for r in caplog.records if "forbidden" in r.getMessage().lower()]
    assert denied == []
