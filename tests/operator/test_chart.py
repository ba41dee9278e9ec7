"""The rendered Helm chart on a real apiserver (with Strimzi's CRDs loaded).

Every manifest, including Kafka/KafkaNodePool/KafkaTopic, is accepted by a server-side
apply with strict field validation; the operator's ServiceAccount can do exactly what its
Role grants; kwok runs the gateway pods and completes a Job like the instrument sync.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from k8s_control_plane import ControlPlane
from k8s_tools import CHART_DIR

pytestmark = pytest.mark.operator

RELEASE = "qp"


def _render(cluster: ControlPlane, namespace: str, *sets: str) -> list[dict[str, Any]]:
    args = [a for s in sets for a in ("--set", s)]
    out = cluster.helm("template", RELEASE, str(CHART_DIR), "--namespace", namespace, *args).stdout
    return [o for o in yaml.safe_load_all(out) if o]


def _apply(cluster: ControlPlane, namespace: str, objects: list[dict[str, Any]]) -> str:
    text = yaml.safe_dump_all(objects)
    done = cluster.kubectl(
        "apply", "--server-side", "--field-manager=helm-test", "--validate=strict",
        "-n", namespace, "-f", "-", input=text, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def installed(k8s_cluster: ControlPlane, k8s_namespace: str) -> list[dict[str, Any]]:
    objects = _render(k8s_cluster, k8s_namespace)
    out = _apply(k8s_cluster, k8s_namespace, objects)
    assert out.count("serverside-applied") == len(objects), out
    return objects


def test_every_rendered_manifest_is_accepted_by_the_apiserver(
    k8s_cluster: ControlPlane, k8s_namespace: str, installed: list[dict[str, Any]]
) -> None:
    for obj in installed:
        kind, name = obj["kind"], obj["metadata"]["name"]
        scope = [] if kind in {"ClusterRole", "ClusterRoleBinding"} else ["-n", k8s_namespace]
        got = k8s_cluster.kubectl("get", *scope, kind, name, "-o", "json").stdout
        assert json.loads(got)["metadata"]["name"] == name
    topics = k8s_cluster.kubectl(
        "get", "-n", k8s_namespace, "kafkatopics.kafka.strimzi.io",
        "-o", "jsonpath={.items[*].spec.topicName}",
    ).stdout.split()  # fmt: skip
    assert "market.equity.ticks" in topics
    assert len(topics) == 7


def test_strimzi_schema_rejects_a_broken_kafka_resource(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    (pool,) = [o for o in _render(k8s_cluster, k8s_namespace) if o["kind"] == "KafkaNodePool"]
    pool["spec"]["roles"] = ["broker", "janitor"]
    done = k8s_cluster.kubectl(
        "apply", "--server-side", "-n", k8s_namespace, "-f", "-",
        input=yaml.safe_dump(pool), check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "janitor" in done.stderr


def test_managed_deployments_are_found_by_label(
    k8s_cluster: ControlPlane, k8s_namespace: str, installed: list[dict[str, Any]]
) -> None:
    names = k8s_cluster.kubectl(
        "get", "deployments", "-n", k8s_namespace,
        "-l", "quant-platform.io/managed-replicas=true",
        "-o", "jsonpath={.items[*].metadata.labels.quant-platform\\.io/component}",
    ).stdout.split()  # fmt: skip
    assert sorted(names) == ["features", "ingestor", "scanner", "strategy"]


def _can(cluster: ControlPlane, namespace: str, verb: str, resource: str) -> bool:
    sa = f"system:serviceaccount:{namespace}:{RELEASE}-quant-platform-operator"
    done = cluster.kubectl(
        "auth", "can-i", verb, resource, "-n", namespace, f"--as={sa}", check=False
    )
    return done.stdout.strip() == "yes"


def test_operator_service_account_has_least_privilege(
    k8s_cluster: ControlPlane, k8s_namespace: str, installed: list[dict[str, Any]]
) -> None:
    ns = k8s_namespace
    allowed = [
        ("patch", "tradingdays.trading.quant-platform.io"),
        ("watch", "tradingdays.trading.quant-platform.io"),
        ("patch", "tradingdays.trading.quant-platform.io/status"),
        ("patch", "deployments.apps"),
        ("create", "jobs.batch"),
        ("delete", "jobs.batch"),
        ("get", "secrets/upstox-token"),
        ("update", "secrets/upstox-token"),
        ("create", "events"),
        ("get", "kafkatopics.kafka.strimzi.io"),
    ]
    denied = [
        ("delete", "tradingdays.trading.quant-platform.io"),
        ("create", "tradingdays.trading.quant-platform.io"),
        ("delete", "deployments.apps"),
        ("create", "deployments.apps"),
        ("patch", "jobs.batch"),
        ("get", "secrets/upstox-credentials"),
        ("list", "secrets"),
        ("create", "secrets"),
        ("create", "pods"),
        ("delete", "kafkatopics.kafka.strimzi.io"),
    ]
    assert [a for a in allowed if not _can(k8s_cluster, ns, *a)] == []
    assert [d for d in denied if _can(k8s_cluster, ns, *d)] == []


def test_kwok_runs_gateway_pods_and_completes_jobs(
    k8s_cluster: ControlPlane, k8s_namespace: str, installed: list[dict[str, Any]]
) -> None:
    gateway = f"deployment/{RELEASE}-quant-platform-gateway"
    k8s_cluster.kubectl(
        "rollout", "status", "-n", k8s_namespace, gateway, "--timeout=90s", timeout=100
    )
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "sync-probe"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "sync", "image": "busybox:1.36", "args": ["true"]}],
                }
            },
        },
    }
    k8s_cluster.kubectl("create", "-n", k8s_namespace, "-f", "-", input=yaml.safe_dump(job))
    k8s_cluster.wait_for("job", "sync-probe", "condition=Complete", k8s_namespace, timeout=90)


def test_helm_install_works_against_the_apiserver(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    done: subprocess.CompletedProcess[str] = k8s_cluster.helm(
        "install", "release", str(CHART_DIR), "--namespace", k8s_namespace,
        "--set", "operator.watchCrds=false", check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = json.loads(
        k8s_cluster.helm("status", "release", "-n", k8s_namespace, "-o", "json").stdout
    )
    assert status["info"]["status"] == "deployed"
