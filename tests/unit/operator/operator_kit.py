"""The operator's in-memory apiserver and a day's world, shared by the reconciler tests.

``FakeKube`` keeps objects by path with enough REST semantics for the reconciler (JSON
merge patches; the strategic merge of a container's ``env`` by name); ``world`` is a
namespace with the four managed Deployments, the gateway, a valid token and one
TradingDay at 07:00 IST on a fake clock. Used by ``test_operator_reconciler`` and
``test_operator_execution``.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

import pytest

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant_operator import builders
from quant_operator.control import RecordingControlPublisher
from quant_operator.kube import KubeError
from quant_operator.reconciler import Ports
from quant_operator.timesource import ClockTimeSource

NS = "trading"
DAY = date(2026, 11, 25)
TD_PATH = f"/apis/trading.quant-platform.io/v1alpha1/namespaces/{NS}/tradingdays/day1"


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, Mapping) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def _merge_env(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """The strategic merge of a Deployment patch: containers by name, env by name."""
    containers = target["spec"]["template"]["spec"]["containers"]
    for want in patch["spec"]["template"]["spec"]["containers"]:
        (container,) = [c for c in containers if c["name"] == want["name"]]
        env = container.setdefault("env", [])
        for item in want.get("env", []):
            env[:] = [e for e in env if e["name"] != item["name"]] + (
                [] if item.get("$patch") == "delete" else [dict(item)]
            )


class FakeKube:
    """Objects keyed by path; enough of the REST semantics for the reconciler."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_next: KubeError | None = None

    def put(self, collection: str, obj: dict[str, Any]) -> None:
        obj.setdefault("metadata", {}).setdefault("uid", f"uid-{obj['metadata']['name']}")
        self.objects[f"{collection}/{obj['metadata']['name']}"] = obj

    def _check(self) -> None:
        if self.fail_next is not None:
            err, self.fail_next = self.fail_next, None
            raise err

    async def get(self, path: str) -> dict[str, Any] | None:
        self._check()
        self.calls.append(("GET", path))
        obj = self.objects.get(path)
        return copy.deepcopy(obj) if obj is not None else None

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        self._check()
        self.calls.append(("LIST", path))
        out = []
        for key, obj in self.objects.items():
            if key.rsplit("/", 1)[0] != path:
                continue
            labels = obj["metadata"].get("labels") or {}
            terms = [t for t in (label_selector or "").split(",") if t]
            if all(
                (labels.get(t.split("=")[0]) == t.split("=")[1]) if "=" in t else t in labels
                for t in terms
            ):
                out.append(copy.deepcopy(obj))
        return out

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        self._check()
        self.calls.append(("POST", path))
        key = f"{path}/{body['metadata']['name']}"
        if key in self.objects:
            return None
        self.objects[key] = copy.deepcopy(dict(body))
        return copy.deepcopy(dict(body))

    async def patch(
        self, path: str, body: Mapping[str, Any], *, strategic: bool = False
    ) -> dict[str, Any] | None:
        self._check()
        self.calls.append(("PATCH", path))
        key = path.removesuffix("/status")
        if key not in self.objects:
            return None
        if strategic:
            _merge_env(self.objects[key], body)
            return copy.deepcopy(self.objects[key])
        if path.endswith("/status"):
            body = {"status": body["status"]}
            types = [c["type"] for c in body["status"].get("conditions") or ()]
            if len(types) != len(set(types)):  # the CRD's list-map keyed by type
                raise KubeError(422, f"duplicate condition types {types}")
        _merge(self.objects[key], body)
        return copy.deepcopy(self.objects[key])


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def info(self, reason: str, message: str) -> None:
        self.seen.append(("Normal", reason, message))

    def warn(self, reason: str, message: str) -> None:
        self.seen.append(("Warning", reason, message))


def jwt(exp: int) -> str:
    def enc(o: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'none'})}.{enc({'sub': 'U', 'exp': exp})}.x"


def ist(hh: int, mm: int) -> int:
    return datetime_to_ns(datetime.combine(DAY, time(hh, mm), tzinfo=IST))


DEPLOY = f"/apis/apps/v1/namespaces/{NS}/deployments"
JOBS = f"/apis/batch/v1/namespaces/{NS}/jobs"
SECRET = f"/api/v1/namespaces/{NS}/secrets/upstox-token"
STRATEGIES_CM = "quant-strategies"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
#: The day's one strategy (``world``'s TradingDay).
MACROSS = {
    "id": "macross",
    "class": "quant.strategy.examples.ma_cross:MaCross",
    "params": {"fast": 5, "slow": 20},
    "algoName": "MAC-1",
    "limits": {"maxPositionQuantity": 100, "maxExposure": "150000", "maxDailyLoss": "2000.5"},
}


def deployment(component: str, *, uses_token: bool = True, managed: bool = True) -> dict[str, Any]:
    env = [
        {
            "name": "T",
            "valueFrom": {"secretKeyRef": {"name": "upstox-token", "key": "access_token"}},
        }
    ]
    labels = {builders.LABEL_COMPONENT: component}
    if managed:
        labels[builders.LABEL_MANAGED] = "true"
    pod: dict[str, Any] = {"containers": [{"name": "c", "env": env if uses_token else []}]}
    if component == "strategy":  # the chart's: the strategies file from a ConfigMap
        pod["volumes"] = [
            {"name": "strategies", "configMap": {"name": STRATEGIES_CM, "optional": True}}
        ]
    return {
        "metadata": {"name": f"quant-{component}", "labels": labels},
        "spec": {"replicas": 1, "template": {"spec": pod}},
    }


def set_token(kube: FakeKube, token: str) -> None:
    kube.objects[SECRET] = {
        "metadata": {"name": "upstox-token"},
        "data": {"access_token": base64.b64encode(token.encode()).decode()},
    }


@pytest.fixture
def world() -> tuple[FakeKube, FakeClock, RecordingControlPublisher, Ports, Events]:
    kube = FakeKube()
    for c in ("ingestor", "features", "scanner", "strategy"):
        kube.put(DEPLOY, deployment(c))
    kube.put(DEPLOY, deployment("gateway", managed=False))
    set_token(kube, jwt(ist(3, 30) // 10**9 + 86400))
    kube.objects[TD_PATH] = {
        "metadata": {"name": "day1", "namespace": NS, "uid": "td-uid", "generation": 1},
        "spec": {
            "date": DAY.isoformat(),
            "tokenSecretRef": {"name": "upstox-token"},
            "replicas": {"ingestor": 2, "features": 1, "scanner": 1, "strategy": 2},
            "strategies": [MACROSS],
        },
    }
    clock = FakeClock(ist(7, 0))
    control = RecordingControlPublisher()
    ports = Ports(
        kube, ClockTimeSource(clock), control, None, "quant-platform:test", real_time=False
    )
    return kube, clock, control, ports, Events()


def replicas(kube: FakeKube) -> dict[str, int]:
    return {
        o["metadata"]["labels"][builders.LABEL_COMPONENT]: o["spec"]["replicas"]
        for k, o in kube.objects.items()
        if k.startswith(DEPLOY)
    }


def complete_jobs(kube: FakeKube, kind: str = "Complete") -> None:
    for k, o in kube.objects.items():
        if k.startswith(JOBS) and not o.get("status"):
            o["status"] = {
                "conditions": [
                    {
                        "type": kind,
                        "status": "True",
                        "reason": "BackoffLimitExceeded" if kind == "Failed" else "",
                    }
                ]
            }
