"""The rendered Helm chart on a real apiserver (with Strimzi's CRDs loaded).

Every manifest, including Kafka/KafkaNodePool/KafkaTopic, is accepted by a server-side
apply with strict field validation; the operator's ServiceAccount can do exactly what its
Role grants; kwok runs the gateway pods and completes a Job like the instrument sync.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from k8s_control_plane import ControlPlane
from k8s_tools import CHART_DIR
from quant.bus.topics import ALL_TOPICS

pytestmark = pytest.mark.operator

RELEASE = "qp"


def _render(cluster: ControlPlane, namespace: str, *sets: str) -> list[dict[str, Any]]:
    args = [a for s in sets for a in ("--set", s)]
    out = cluster.helm("template", RELEASE, str(CHART_DIR), "--namespace", namespace, *args).stdout
    return [o for o in yaml.safe_load_all(out) if o]


def _apply(
    cluster: ControlPlane, namespace: str, objects: list[dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    text = yaml.safe_dump_all(objects)
    done = cluster.kubectl(
        "apply", "--server-side", "--field-manager=helm-test", "--validate=strict",
        "-n", namespace, "-f", "-", input=text, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def chart_ns(k8s_cluster: ControlPlane) -> Iterator[str]:
    """One namespace per module with the chart applied (tests here only read or add)."""
    namespace = k8s_cluster.namespace("chart")
    # Pod Security Admission at its strictest: pods that break "restricted" are refused.
    k8s_cluster.kubectl(
        "label", "namespace", namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/warn=restricted",
    )  # fmt: skip
    yield namespace
    k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.fixture(scope="module")
def installed(k8s_cluster: ControlPlane, chart_ns: str) -> list[dict[str, Any]]:
    objects = _render(k8s_cluster, chart_ns)
    done = _apply(k8s_cluster, chart_ns, objects)
    assert done.stdout.count("serverside-applied") == len(objects), done.stdout
    assert "PodSecurity" not in done.stderr, done.stderr
    return objects


def _ref(obj: dict[str, Any]) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    kind = obj["kind"].lower() + (f".{group}" if group else "")
    return f"{kind}/{obj['metadata']['name']}"


def test_every_rendered_manifest_is_accepted_by_the_apiserver(
    k8s_cluster: ControlPlane, chart_ns: str, installed: list[dict[str, Any]]
) -> None:
    refs = [_ref(o) for o in installed]
    got = k8s_cluster.kubectl("get", "-n", chart_ns, *refs, "-o", "json").stdout
    items = json.loads(got)["items"]
    assert sorted((i["kind"], i["metadata"]["name"]) for i in items) == sorted(
        (o["kind"], o["metadata"]["name"]) for o in installed
    )
    topics = [i["spec"]["topicName"] for i in items if i["kind"] == "KafkaTopic"]
    assert "market.equity.ticks" in topics
    assert len(topics) == len(ALL_TOPICS)


def test_strimzi_schema_rejects_a_broken_kafka_resource(
    k8s_cluster: ControlPlane, chart_ns: str
) -> None:
    (pool,) = [o for o in _render(k8s_cluster, chart_ns) if o["kind"] == "KafkaNodePool"]
    pool["metadata"]["name"] = "broken-pool"
    pool["spec"]["roles"] = ["broker", "janitor"]
    done = k8s_cluster.kubectl(
        "apply", "--server-side", "-n", chart_ns, "-f", "-",
        input=yaml.safe_dump(pool), check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "janitor" in done.stderr


def test_managed_deployments_are_found_by_label(
    k8s_cluster: ControlPlane, chart_ns: str, installed: list[dict[str, Any]]
) -> None:
    names = k8s_cluster.kubectl(
        "get", "deployments", "-n", chart_ns,
        "-l", "quant-platform.io/managed-replicas=true",
        "-o", "jsonpath={.items[*].metadata.labels.quant-platform\\.io/component}",
    ).stdout.split()  # fmt: skip
    assert sorted(names) == ["features", "ingestor", "scanner", "strategy"]


def _allowed(
    cluster: ControlPlane, namespace: str, checks: list[tuple[str, str]]
) -> dict[tuple[str, str], bool]:
    """Ask the apiserver (SubjectAccessReviews, one kubectl call) what the operator may do."""
    user = f"system:serviceaccount:{namespace}:{RELEASE}-quant-platform-operator"
    reviews = []
    for verb, resource in checks:
        plural_group, _, name = resource.partition("/")
        plural, _, group = plural_group.partition(".")
        if plural == "tradingdays" and name == "status":
            plural, name, sub = "tradingdays", "", "status"
        else:
            sub = ""
        attrs = {"namespace": namespace, "verb": verb, "group": group, "resource": plural}
        if name:
            attrs["name"] = name
        if sub:
            attrs["subresource"] = sub
        reviews.append(
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {
                    "user": user,
                    "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
                    "resourceAttributes": attrs,
                },
            }
        )
    out = cluster.kubectl(
        "create", "-f", "-", "-o", "json", input=yaml.safe_dump_all(reviews)
    ).stdout
    # kubectl prints one JSON document per created object, back to back.
    decoder, results, pos = json.JSONDecoder(), [], 0
    while pos < len(out):
        if out[pos].isspace():
            pos += 1
            continue
        doc, pos = decoder.raw_decode(out, pos)
        results.append(doc)
    return {c: bool(r["status"].get("allowed")) for c, r in zip(checks, results, strict=True)}


def test_operator_service_account_has_least_privilege(
    k8s_cluster: ControlPlane, chart_ns: str, installed: list[dict[str, Any]]
) -> None:
    allowed = [
        ("patch", "tradingdays.trading.quant-platform.io"),
        ("watch", "tradingdays.trading.quant-platform.io"),
        ("patch", "tradingdays.trading.quant-platform.io/status"),
        ("patch", "deployments.apps"),
        ("create", "jobs.batch"),
        ("delete", "jobs.batch"),
        ("list", "pods"),
        ("get", "secrets/upstox-token"),
        ("update", "secrets/upstox-token"),
        ("create", "events"),
        ("get", "kafkatopics.kafka.strimzi.io"),
        ("create", "configmaps"),
        ("get", f"configmaps/{RELEASE}-quant-platform-strategies"),
        ("patch", f"configmaps/{RELEASE}-quant-platform-strategies"),
    ]
    denied = [
        ("get", f"configmaps/{RELEASE}-quant-platform-settings"),
        ("patch", f"configmaps/{RELEASE}-quant-platform-execution"),
        ("list", "configmaps"),
        ("delete", f"configmaps/{RELEASE}-quant-platform-strategies"),
        ("delete", "tradingdays.trading.quant-platform.io"),
        ("create", "tradingdays.trading.quant-platform.io"),
        ("delete", "deployments.apps"),
        ("create", "deployments.apps"),
        ("patch", "jobs.batch"),
        ("get", "secrets/upstox-credentials"),
        ("list", "secrets"),
        ("create", "secrets"),
        ("create", "pods"),
        ("get", "pods/log"),
        ("delete", "pods"),
        ("delete", "kafkatopics.kafka.strimzi.io"),
    ]
    answers = _allowed(k8s_cluster, chart_ns, allowed + denied)
    assert [a for a in allowed if not answers[a]] == []
    assert [d for d in denied if answers[d]] == []


def test_a_client_cert_identity_gets_the_operator_role(
    k8s_cluster: ControlPlane, chart_ns: str, installed: list[dict[str, Any]]
) -> None:
    user = f"system:serviceaccount:{chart_ns}:{RELEASE}-quant-platform-operator"
    kubeconfig = k8s_cluster.user_kubeconfig(user, ["system:serviceaccounts"])
    as_operator = ["--kubeconfig", str(kubeconfig), "-n", chart_ns]
    k8s_cluster.kubectl("get", "tradingdays", *as_operator)
    k8s_cluster.kubectl("get", "deployments", *as_operator)
    denied = k8s_cluster.kubectl("get", "secrets", *as_operator, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr


def test_kwok_runs_gateway_pods_and_completes_jobs(
    k8s_cluster: ControlPlane, chart_ns: str, installed: list[dict[str, Any]]
) -> None:
    gateway = f"deployment/{RELEASE}-quant-platform-gateway"
    k8s_cluster.kubectl("rollout", "status", "-n", chart_ns, gateway, "--timeout=90s", timeout=100)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "sync-probe"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "sync",
                            "image": "busybox:1.36",
                            "args": ["true"],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                }
            },
        },
    }
    k8s_cluster.kubectl("create", "-n", chart_ns, "-f", "-", input=yaml.safe_dump(job))
    k8s_cluster.wait_for("job", "sync-probe", "condition=Complete", chart_ns, timeout=90)


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
