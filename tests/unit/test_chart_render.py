"""The Helm chart renders to hardened, least-privilege manifests (``helm template``).

Checks every container for probes, resources and a locked-down securityContext, the
operator's RBAC verbs exactly, the managed-replica labels the operator relies on, the
Kafka topics against the bus registry, the settings checksum, and values.schema.json.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from chart_render import (
    NAMESPACE,
    RELEASE,
    Obj,
    by_kind,
    helm_run,
    pod_specs,
    render,
    render_objects,
)

from k8s_tools import CHART_DIR
from quant.bus.topics import ALL_TOPICS

MANAGED = ("ingestor", "features", "scanner", "strategy")


@pytest.fixture(scope="module")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm-home")


@pytest.fixture(scope="module")
def objects(helm_home: Path) -> list[Obj]:
    return render_objects(helm_home)


def _named(objects: list[Obj], kind: str, suffix: str) -> Obj:
    found = [o for o in by_kind(objects, kind) if o["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"{kind} *{suffix}: {[o['metadata']['name'] for o in found]}"
    return found[0]


def test_helm_lint_passes(helm_home: Path) -> None:
    done = helm_run("lint", "--strict", str(CHART_DIR), home=helm_home)
    assert done.returncode == 0, done.stdout + done.stderr


def test_chart_renders_every_component(objects: list[Obj]) -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for component in ("gateway", "operator", *MANAGED):
        assert ("Deployment", f"{RELEASE}-quant-platform-{component}") in kinds
    for store in ("questdb", "postgres"):
        assert ("StatefulSet", f"{RELEASE}-quant-platform-{store}") in kinds
        assert ("Service", f"{RELEASE}-quant-platform-{store}") in kinds
    for kind in ("Ingress", "PodDisruptionBudget", "ServiceAccount", "Role", "RoleBinding"):
        assert by_kind(objects, kind), kind
    assert {o["kind"] for o in objects} >= {"Kafka", "KafkaNodePool", "KafkaTopic", "ConfigMap"}


def test_every_container_has_probes_resources_and_locked_down_security(
    objects: list[Obj],
) -> None:
    checked = 0
    for where, pod in pod_specs(objects):
        psc = pod.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, where
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            name = f"{where}/{c['name']}"
            assert "livenessProbe" in c, name
            assert "readinessProbe" in c, name
            res = c.get("resources", {})
            assert {"cpu", "memory"} <= set(res.get("requests", {})), name
            assert {"cpu", "memory"} <= set(res.get("limits", {})), name
            sc = c.get("securityContext", {})
            assert sc.get("readOnlyRootFilesystem") is True, name
            assert sc.get("allowPrivilegeEscalation") is False, name
            assert sc.get("runAsNonRoot") is True, name
            assert "ALL" in sc.get("capabilities", {}).get("drop", []), name
            image = c["image"]
            assert ":" in image.rsplit("/", 1)[-1], f"{name}: unpinned image {image}"
            assert not image.endswith(":latest"), name
            checked += 1
    assert checked == 8  # gateway, operator, 4 services, questdb, postgres


def test_managed_deployments_start_at_zero_with_operator_labels(objects: list[Obj]) -> None:
    managed = [
        o
        for o in by_kind(objects, "Deployment")
        if o["metadata"]["labels"].get("quant-platform.io/managed-replicas") == "true"
    ]
    assert sorted(
        o["metadata"]["labels"]["quant-platform.io/component"] for o in managed
    ) == sorted(MANAGED)
    assert all(o["spec"]["replicas"] == 0 for o in managed)
    gateway = _named(objects, "Deployment", "-gateway")
    assert "quant-platform.io/managed-replicas" not in gateway["metadata"]["labels"]


def test_operator_rbac_grants_exactly_the_needed_verbs(objects: list[Obj]) -> None:
    role = _named(objects, "Role", "-operator")
    rules = {
        (tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r.get("resourceNames", ()))): set(
            r["verbs"]
        )
        for r in role["rules"]
    }
    assert rules == {
        (("trading.quant-platform.io",), ("tradingdays",), ()): {"get", "list", "watch", "patch"},
        (("trading.quant-platform.io",), ("tradingdays/status",), ()): {"get", "patch"},
        (("apps",), ("deployments",), ()): {"get", "list", "watch", "patch"},
        (("batch",), ("jobs",), ()): {"create", "get", "list", "watch", "delete"},
        (("",), ("secrets",), ("upstox-token",)): {"get", "watch", "patch", "update"},
        (("",), ("events",), ()): {"create"},
        (("kafka.strimzi.io",), ("kafkatopics",), ()): {"get"},
    }
    cluster_role = _named(objects, "ClusterRole", "-operator")
    assert cluster_role["rules"] == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["list", "watch"],
        }
    ]
    binding = _named(objects, "RoleBinding", "-operator")
    sa = _named(objects, "ServiceAccount", "-operator")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": NAMESPACE}
    ]
    operator = _named(objects, "Deployment", "-operator")["spec"]["template"]["spec"]
    assert operator["serviceAccountName"] == sa["metadata"]["name"]
    assert "--standalone" in operator["containers"][0]["args"]
    for where, pod in pod_specs(objects):
        if not where.endswith("-operator"):
            assert pod.get("automountServiceAccountToken") is False, where


def test_configmap_clock_adds_only_a_get_on_that_configmap(helm_home: Path) -> None:
    objs = render_objects(
        helm_home, {"operator.clock.mode": "configmap", "operator.clock.configMap": "clk"}
    )
    extra = [
        r for r in _named(objs, "Role", "-operator")["rules"] if "configmaps" in r["resources"]
    ]
    assert extra == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["clk"], "verbs": ["get"]}
    ]
    container = _named(objs, "Deployment", "-operator")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["QUANT_CLOCK__MODE"] == "configmap"
    assert env["QUANT_CLOCK__CONFIGMAP"] == "clk"


def test_kafka_topics_match_the_bus_registry(objects: list[Obj]) -> None:
    topics = {t["spec"]["topicName"]: t for t in by_kind(objects, "KafkaTopic")}
    assert set(topics) == {t.name for t in ALL_TOPICS}
    for t in ALL_TOPICS:
        spec = topics[t.name]["spec"]
        assert spec["partitions"] == t.partitions, t.name
        assert spec["config"]["retention.ms"] == t.retention_ms, t.name
        extra = {k: str(v) for k, v in spec["config"].items()}
        extra.pop("retention.ms")
        extra.pop("min.insync.replicas")
        assert extra == dict(t.config), t.name
        assert topics[t.name]["metadata"]["labels"]["strimzi.io/cluster"] == "quant-kafka"
    assert all(o["apiVersion"] == "kafka.strimzi.io/v1" for o in by_kind(objects, "KafkaTopic"))


def test_settings_change_rolls_pods_through_the_checksum(helm_home: Path) -> None:
    def checksums(objs: list[Obj]) -> set[str]:
        return {
            o["spec"]["template"]["metadata"]["annotations"]["checksum/settings"]
            for o in by_kind(objs, "Deployment")
        }

    before = checksums(render_objects(helm_home))
    after = checksums(render_objects(helm_home, {"settings.logLevel": "DEBUG"}))
    assert len(before) == 1
    assert len(after) == 1
    assert before != after


def test_secrets_are_referenced_never_inlined(objects: list[Obj]) -> None:
    assert not by_kind(objects, "Secret")
    gateway = _named(objects, "Deployment", "-gateway")["spec"]["template"]["spec"]
    env = {e["name"]: e for e in gateway["containers"][0]["env"]}
    assert "QUANT_UPSTOX__ACCESS_TOKEN" not in env  # the token is a mounted file
    volumes = {v["name"]: v for v in gateway["volumes"]}
    assert volumes["upstox-token"]["secret"] == {"secretName": "upstox-token", "optional": True}
    assert "valueFrom" in env["QUANT_UPSTOX__CLIENT_SECRET"]
    settings = _named(objects, "ConfigMap", "-settings")["data"]
    assert not any("SECRET" in k or "PASSWORD" in k for k in settings)
    assert settings["QUANT_UPSTOX__TOKEN_FILE"].endswith("/upstox/access_token")


def test_gateway_has_a_pdb_and_the_network_policies_deny_by_default(objects: list[Obj]) -> None:
    pdb = _named(objects, "PodDisruptionBudget", "-gateway")
    gateway = _named(objects, "Deployment", "-gateway")
    assert pdb["spec"]["selector"]["matchLabels"] == gateway["spec"]["selector"]["matchLabels"]
    deny = _named(objects, "NetworkPolicy", "-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny["spec"]
    assert deny["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": RELEASE}


def test_external_postgres_and_kafka_drop_the_in_cluster_servers(helm_home: Path) -> None:
    objs = render_objects(
        helm_home,
        {
            "postgres.external": "true",
            "kafka.strimzi.enabled": "false",
            "kafka.externalBootstrapServers": "broker.example:9092",
        },
    )
    assert not [o for o in objs if o["kind"].startswith("Kafka")]
    assert not [o for o in by_kind(objs, "StatefulSet") if "postgres" in o["metadata"]["name"]]
    settings = _named(objs, "ConfigMap", "-settings")["data"]
    assert settings["QUANT_KAFKA__BOOTSTRAP_SERVERS"] == "broker.example:9092"
    env = {
        e["name"]: e
        for e in _named(objs, "Deployment", "-gateway")["spec"]["template"]["spec"]["containers"][
            0
        ]["env"]
    }
    assert env["QUANT_POSTGRES__DSN"]["valueFrom"]["secretKeyRef"]["key"] == "dsn"


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("image.tag", "latest", "/image/tag"),
        ("gateway.replicas", "0", "/gateway/replicas"),
        ("containerSecurityContext.readOnlyRootFilesystem", "false", "readOnlyRootFilesystem"),
        ("upstox.apiBase", "http://api.upstox.com", "/upstox/apiBase"),
        ("settings.logLevel", "CHATTY", "/settings/logLevel"),
        ("unknownKey", "1", "unknownKey"),
    ],
)
def test_values_schema_rejects_bad_values(
    helm_home: Path, key: str, value: str, complaint: str
) -> None:
    done = render(helm_home, {key: value})
    assert done.returncode != 0
    assert complaint in done.stderr


def test_services_health_server_listens_on_the_probed_port(objects: list[Obj]) -> None:
    """The data services read ``QUANT_METRICS_PORT``; their probes must hit that port."""
    settings = _named(objects, "ConfigMap", "-settings")["data"]
    checked = 0
    for deployment in by_kind(objects, "Deployment"):
        labels = deployment["metadata"]["labels"]
        if labels.get("quant-platform.io/managed-replicas") != "true":
            continue
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        probe_port = container["readinessProbe"]["httpGet"]["port"]
        assert container["livenessProbe"]["httpGet"]["port"] == probe_port
        assert int(settings["QUANT_METRICS_PORT"]) == ports[probe_port]
        checked += 1
    assert checked == len(MANAGED)
    assert "QUANT_HEALTH_PORT" not in settings


def test_each_service_settings_object_accepts_the_pods_env(
    objects: list[Obj], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap + container env must build each command's settings (unknown keys fail)."""
    from quant.features.settings import FeaturesSettings
    from quant.gateway.service_settings import GatewayServiceSettings
    from quant.ingestor.settings import IngestorSettings

    classes: dict[str, type[Any]] = {
        "gateway": GatewayServiceSettings,
        "ingestor": IngestorSettings,
        "features": FeaturesSettings,
    }
    settings = _named(objects, "ConfigMap", "-settings")["data"]
    built: dict[str, Any] = {}
    for deployment in by_kind(objects, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        command = (container.get("args") or [""])[0]
        if command not in classes:
            continue
        env = dict(settings)
        env.update({e["name"]: e.get("value", "from-a-secret") for e in container.get("env", [])})
        with monkeypatch.context() as m:
            for key in [k for k in os.environ if k.startswith("QUANT_")]:
                m.delenv(key)
            for key, value in env.items():
                m.setenv(key, str(value))
            built[command] = classes[command]()
    assert set(built) == set(classes)
    gateway = built["gateway"]
    assert (gateway.gateway.host, gateway.gateway.port) == ("0.0.0.0", 8080)  # noqa: S104
    assert gateway.postgres.dsn.get_secret_value().startswith("postgresql://quant:")
    assert gateway.kafka.bootstrap_servers == settings["QUANT_KAFKA__BOOTSTRAP_SERVERS"]
    for command in ("ingestor", "features"):
        assert built[command].metrics_port == int(settings["QUANT_METRICS_PORT"])
