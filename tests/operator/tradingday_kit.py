"""Helpers for driving the operator against the test control plane (tests and bench).

Builds the objects a TradingDay needs (the platform's Deployments labelled like the
chart's, the Upstox token Secret holding a JWT, the clock ConfigMap) and runs the
operator in-process with ``kopf.testing.KopfRunner`` on the ConfigMap clock, so a test
moves the day's time by writing ``data.now``. Used by ``tests/operator/test_operator_*``
and ``bench/bench_operator.py``.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Protocol

from kopf.testing import KopfRunner

from quant.core.clock import IST

COMPONENTS = ("ingestor", "features", "scanner", "strategy")
STRATEGIES_CONFIGMAP = "quant-strategies"
#: The one strategy of :func:`trading_day` (the strategy Deployment runs at most 1 pod).
STRATEGY: dict[str, Any] = {
    "id": "macross",
    "class": "quant.strategy.examples.ma_cross:MaCross",
    "params": {"fast": 5, "slow": 20},
    "algoName": "MAC-1",
    "limits": {"maxPositionQuantity": 100, "maxExposure": "150000", "maxDailyLoss": "2000"},
}
CLOCK_CONFIGMAP = "quant-operator-clock"
TOKEN_SECRET = "upstox-token"


class Cluster(Protocol):
    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> Any: ...


def ist(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, dtime(hh, mm), tzinfo=IST)


def jwt(exp: datetime, sub: str = "TEST01") -> str:
    """An unsigned Upstox-shaped JWT whose ``exp`` is ``exp``."""

    def enc(obj: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"sub": sub, "iss": "udapi-gateway-service", "exp": int(exp.timestamp())}
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(claims)}.signature"


def token_for(day: date, sub: str = "TEST01") -> str:
    """A token valid for ``day`` (dies at 03:30 IST the next morning)."""
    return jwt(ist(day + timedelta(days=1), 3, 30), sub)


def deployment(component: str, namespace: str, *, managed: bool = True) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/name": f"quant-{component}",
        "quant-platform.io/component": component,
    }
    if managed:
        labels["quant-platform.io/managed-replicas"] = "true"
    env = [
        {
            "name": "QUANT_UPSTOX__ACCESS_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "access_token"}},
        }
    ]
    pod: dict[str, Any] = {
        "containers": [{"name": component, "image": "quant-platform:test", "env": env}],
    }
    if component == "strategy":  # as the chart: the strategies file from the operator's ConfigMap
        pod["volumes"] = [
            {"name": "strategies", "configMap": {"name": STRATEGIES_CONFIGMAP, "optional": True}}
        ]
        pod["containers"][0]["volumeMounts"] = [
            {"name": "strategies", "mountPath": "/etc/quant-platform/strategies", "readOnly": True}
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"quant-{component}", "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 0 if managed else 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": f"quant-{component}"}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def execution_deployment(namespace: str, *, replicas: int = 1) -> dict[str, Any]:
    """The execution Deployment as the chart makes it: not managed, Recreate, one container
    named ``execution`` reading its settings ConfigMap, with env of its own."""
    deployment_ = deployment("execution", namespace, managed=False)
    deployment_["spec"]["replicas"] = replicas
    deployment_["spec"]["strategy"] = {"type": "Recreate"}
    (container,) = deployment_["spec"]["template"]["spec"]["containers"]
    container["envFrom"] = [{"configMapRef": {"name": "quant-execution", "optional": True}}]
    container["env"].append({"name": "QUANT_POSTGRES__DSN", "value": "postgresql://x@pg/q"})
    return deployment_


def container_env(cluster: Cluster, namespace: str, name: str) -> dict[str, str]:
    """``name=value`` of the first container of Deployment ``name`` (``valueFrom`` as "*")."""
    body = get(cluster, namespace, "deployment", name)
    container = body["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "*") for e in container.get("env") or ()}


def token_secret(namespace: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": TOKEN_SECRET, "namespace": namespace},
        "type": "Opaque",
        "stringData": {"access_token": token},
    }


def clock_configmap(namespace: str, now: datetime) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CLOCK_CONFIGMAP, "namespace": namespace},
        "data": {"now": now.isoformat()},
    }


def trading_day(name: str, namespace: str, day: date, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": day.isoformat(),
        "tokenSecretRef": {"name": TOKEN_SECRET},
        "replicas": {"ingestor": 2, "features": 1, "scanner": 1, "strategy": 2},
        "strategies": [STRATEGY],
    }
    body.update(spec)
    return {
        "apiVersion": "trading.quant-platform.io/v1alpha1",
        "kind": "TradingDay",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def apply(cluster: Cluster, *objects: Mapping[str, Any]) -> None:
    text = "\n".join(json.dumps(o) for o in objects)
    cluster.kubectl("apply", "-f", "-", input=text)


def get(cluster: Cluster, namespace: str, kind: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "-n", namespace, kind, name, "-o", "json")
    loaded: dict[str, Any] = json.loads(out.stdout)
    return loaded


def items(cluster: Cluster, namespace: str, kind: str, selector: str = "") -> list[dict[str, Any]]:
    args = ["get", "-n", namespace, kind, "-o", "json"]
    if selector:
        args += ["-l", selector]
    found: list[dict[str, Any]] = json.loads(cluster.kubectl(*args).stdout)["items"]
    return found


def set_clock(cluster: Cluster, namespace: str, now: datetime) -> None:
    patch = json.dumps({"data": {"now": now.isoformat()}})
    cluster.kubectl("patch", "-n", namespace, "configmap", CLOCK_CONFIGMAP, "-p", patch)


def replicas(cluster: Cluster, namespace: str) -> dict[str, int]:
    return {
        d["metadata"]["labels"]["quant-platform.io/component"]: d["spec"]["replicas"]
        for d in items(cluster, namespace, "deployments", "quant-platform.io/component")
    }


def wait_until(
    what: str, check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def phase_of(cluster: Cluster, namespace: str, name: str) -> str | None:
    status = get(cluster, namespace, "tradingday", name).get("status") or {}
    phase: str | None = status.get("phase")
    return phase


def wait_phase(
    cluster: Cluster, namespace: str, name: str, phase: str, timeout: float = 30.0
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = get(cluster, namespace, "tradingday", name)
        return body if (body.get("status") or {}).get("phase") == phase else None

    found: dict[str, Any] = wait_until(f"{name} phase {phase}", check, timeout)
    return found


def phase_events(cluster: Cluster, namespace: str, name: str) -> list[str]:
    """``PhaseChanged`` event messages for the TradingDay, oldest first."""
    evs = items(cluster, namespace, "events")
    mine = [
        e
        for e in evs
        if e.get("involvedObject", {}).get("name") == name and e.get("reason") == "PhaseChanged"
    ]
    # Event timestamps have one-second resolution, so several transitions can share one;
    # within a second, order them by the chain "A -> B" then "B -> C".
    by_second: dict[str, list[str]] = {}
    for e in mine:
        stamp = e.get("firstTimestamp") or e.get("eventTime") or ""
        by_second.setdefault(stamp, []).append(e.get("message", ""))
    ordered: list[str] = []
    for stamp in sorted(by_second):
        rest = sorted(by_second[stamp])
        while rest:
            prev = _target(ordered[-1]) if ordered else None
            targets = {_target(m) for m in rest}
            nxt = next((m for m in rest if _source(m) == prev), None) or next(
                (m for m in rest if _source(m) not in targets), rest[0]
            )
            rest.remove(nxt)
            ordered.append(nxt)
    return ordered


def _source(message: str) -> str:
    return message.split(":")[0].split(" -> ")[0]


def _target(message: str) -> str:
    return message.split(":")[0].split(" -> ")[-1]


OPERATOR_ENV = {
    "QUANT_CLOCK__MODE": "configmap",
    "QUANT_CLOCK__CONFIGMAP": CLOCK_CONFIGMAP,
    "QUANT_OPERATOR__RECONCILE_INTERVAL": "0.25",
    "QUANT_OPERATOR__SYNC_IMAGE": "quant-platform:test",
}


@contextmanager
def operator_env(kubeconfig: str, namespace: str) -> Iterator[None]:
    """Environment for an in-process operator on the ConfigMap clock (restored after)."""
    wanted = {**OPERATOR_ENV, "KUBECONFIG": kubeconfig, "QUANT_OPERATOR__NAMESPACE": namespace}
    cleared = ("QUANT_KAFKA__BOOTSTRAP_SERVERS", "QUANT_UPSTOX__CLIENT_ID")
    saved = {k: os.environ.get(k) for k in (*wanted, *cleared)}
    os.environ.update(wanted)
    for key in cleared:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def kopf_args(namespace: str) -> list[str]:
    return ["run", "--standalone", "--namespace", namespace, "-m", "quant_operator.handlers"]


@contextmanager
def run_operator(namespace: str, *, reraise: bool = True) -> Iterator[KopfRunner]:
    """The operator in-process (``KopfRunner``) watching ``namespace``.

    After it stops, collect garbage at once: HTTP transports the stopped event loop left
    behind are finalised here rather than at a random later collection; CPython 3.11.7
    raises ``SystemError: AST constructor recursion depth mismatch`` when such a
    finaliser's warning is formatted during an ``ast.parse`` (pytest's assertion rewriting).
    """
    try:
        with KopfRunner(kopf_args(namespace), timeout=60, reraise=reraise) as runner:
            yield runner
    finally:
        gc.collect()


def prepare_namespace(cluster: Cluster, namespace: str, day: date, now: datetime) -> None:
    """Deployments (4 managed + the gateway), the token Secret and the clock ConfigMap."""
    apply(
        cluster,
        *(deployment(c, namespace) for c in COMPONENTS),
        deployment("gateway", namespace, managed=False),
        token_secret(namespace, token_for(day)),
        clock_configmap(namespace, now),
    )
