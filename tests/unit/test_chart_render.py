"""The Helm chart renders to hardened, least-privilege manifests (``helm template``).

Checks every container for probes, resources and a locked-down securityContext, the
operator's RBAC verbs exactly, the managed-replica labels the operator relies on, the
execution Deployment (one replica, Recreate, its settings, reached only by the gateway),
the Kafka topics against the bus registry, the settings checksum, and values.schema.json.
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
    for component in ("gateway", "operator", "execution", *MANAGED):
        assert ("Deployment", f"{RELEASE}-quant-platform-{component}") in kinds
    assert ("Service", f"{RELEASE}-quant-platform-execution") in kinds
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
    assert checked == 9  # gateway, operator, execution, 4 services, questdb, postgres


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
    for unmanaged in ("-gateway", "-execution"):
        labels = _named(objects, "Deployment", unmanaged)["metadata"]["labels"]
        assert "quant-platform.io/managed-replicas" not in labels, unmanaged


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
        (("",), ("pods",), ()): {"list"},
        (("",), ("secrets",), ("upstox-token",)): {"get", "watch", "patch", "update"},
        (("",), ("configmaps",), ()): {"create"},
        (("",), ("configmaps",), (f"{RELEASE}-quant-platform-strategies",)): {"get", "patch"},
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
        r
        for r in _named(objs, "Role", "-operator")["rules"]
        if "configmaps" in r["resources"]
        and f"{RELEASE}-quant-platform-strategies" not in r.get("resourceNames", ())
        and r["verbs"] != ["create"]
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


def _scanner_settings() -> type[Any] | None:
    try:
        from quant.scanner import settings  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    found: type[Any] = settings.ScannerServiceSettings
    return found


def _execution_settings() -> type[Any]:
    from quant.execution.settings import ExecutionSettings

    return ExecutionSettings


def test_each_service_settings_object_accepts_the_pods_env(
    objects: list[Obj], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMaps + container env must build each command's settings (unknown keys fail)."""
    from quant.features.settings import FeaturesSettings
    from quant.gateway.service_settings import GatewayServiceSettings
    from quant.ingestor.settings import IngestorSettings
    from quant.strategy.settings import StrategySettings

    classes: dict[str, type[Any]] = {
        "gateway": GatewayServiceSettings,
        "ingestor": IngestorSettings,
        "features": FeaturesSettings,
        "execution": _execution_settings(),
        "strategy": StrategySettings,
    }
    scanner = _scanner_settings()
    if scanner is not None:  # the scanner service's settings, once its package is in
        classes["scanner"] = scanner
    settings = _named(objects, "ConfigMap", "-settings")["data"]
    maps = {o["metadata"]["name"]: o["data"] for o in by_kind(objects, "ConfigMap")}
    built: dict[str, Any] = {}
    for deployment in by_kind(objects, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        command = (container.get("args") or [""])[0]
        if command not in classes:
            continue
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):  # later sources win, as in a pod
            env.update(maps[source["configMapRef"]["name"]])
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
    strategy = built["strategy"]
    assert str(strategy.strategy_config) == STRATEGIES_FILE
    assert str(strategy.state_dir).startswith("/var/lib/quant-platform/")
    for command in (
        "ingestor",
        "features",
        "execution",
        "strategy",
        *(("scanner",) if scanner else ()),
    ):
        assert built[command].metrics_port == int(settings["QUANT_METRICS_PORT"])
    execution = built["execution"]
    assert execution.mode == "paper" and execution.api_port == 8081
    assert execution.rate.orders_per_second == 10
    assert execution.postgres is not None  # PostgreSQL in the cluster, never the SQLite file
    assert gateway.gateway.execution_url == "http://qp-quant-platform-execution:8081"


def _container(deployment: Obj) -> Obj:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_execution_is_one_recreate_pod_probed_on_its_health_port(objects: list[Obj]) -> None:
    deployment = _named(objects, "Deployment", "-execution")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["metadata"]["labels"]["quant-platform.io/component"] == "execution"
    container = _container(deployment)
    assert container["args"] == ["execution"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    settings = _named(objects, "ConfigMap", "-settings")["data"]
    assert ports == {"api": 8081, "health": int(settings["QUANT_METRICS_PORT"])}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "health"}, probe
    assert container["startupProbe"]["httpGet"]["port"] == "health"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod  # no RBAC: the token is a mounted file


def test_execution_reads_postgres_and_the_token_file_and_nothing_else_secret(
    objects: list[Obj],
) -> None:
    deployment = _named(objects, "Deployment", "-execution")
    container = _container(deployment)
    secret_env = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "valueFrom" in e
    }
    assert secret_env == {"QUANT_POSTGRES_PASSWORD": "quant-postgres"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["QUANT_POSTGRES__DSN"].startswith("postgresql://quant:$(QUANT_POSTGRES_PASSWORD)@")
    # The Upstox token is mounted exactly as the ingestor mounts it (live mode reads it).
    ingestor = _named(objects, "Deployment", "-ingestor")
    for part in ("volumes", "containers"):
        mine = deployment["spec"]["template"]["spec"][part]
        theirs = ingestor["spec"]["template"]["spec"][part]
        if part == "volumes":
            assert mine == theirs
        else:
            assert mine[0]["volumeMounts"] == theirs[0]["volumeMounts"]
    refs = [r["configMapRef"]["name"] for r in container["envFrom"]]
    assert refs == [f"{RELEASE}-quant-platform-settings", f"{RELEASE}-quant-platform-execution"]


def test_execution_values_become_its_settings(helm_home: Path) -> None:
    objs = render_objects(
        helm_home,
        {
            "execution.mode": "live",
            "execution.risk.maxOrderValue": "250000.50",
            "execution.risk.maxDailyLoss": "5000",
            "execution.risk.maxPositionQuantity": "2000000",
            "execution.risk.strategies.momentum.max_position_quantity": "500",
            "execution.rate.ordersPerSecond": "50",
            "execution.rate.mode": "reject",
            "execution.algoNames.momentum": "MOM-1",
            "execution.defaultAlgoName": "ALGO-DEFAULT",
            "execution.squareOffAt": "15:10",
        },
        "--set-string",
        "execution.risk.maxPositionValue=1000000",
    )
    data = _named(objs, "ConfigMap", "-execution")["data"]
    assert data["QUANT_MODE"] == "live"
    assert data["QUANT_RISK__MAX_ORDER_VALUE"] == "250000.50"
    assert data["QUANT_RISK__MAX_POSITION_VALUE"] == "1000000"
    assert data["QUANT_RISK__MAX_DAILY_LOSS"] == "5000"
    assert data["QUANT_RISK__MAX_POSITION_QUANTITY"] == "2000000"  # not 2e+06
    assert data["QUANT_RISK__STRATEGIES"] == '{"momentum":{"max_position_quantity":500}}'
    assert data["QUANT_RATE__ORDERS_PER_SECOND"] == "50"
    assert data["QUANT_RATE__MODE"] == "reject"
    assert data["QUANT_ALGO_NAMES"] == '{"momentum":"MOM-1"}'
    assert data["QUANT_DEFAULT_ALGO_NAME"] == "ALGO-DEFAULT"
    assert data["QUANT_SQUARE_OFF_AT"] == "15:10"
    assert data["QUANT_API_PORT"] == "8081"

    def checksum(rendered: list[Obj]) -> str:
        annotations = _named(rendered, "Deployment", "-execution")["spec"]["template"]["metadata"]
        value: str = annotations["annotations"]["checksum/execution"]
        return value

    assert checksum(objs) != checksum(render_objects(helm_home))  # new limits roll the pod


def test_execution_defaults_are_paper_at_ten_orders_a_second(objects: list[Obj]) -> None:
    data = _named(objects, "ConfigMap", "-execution")["data"]
    assert data["QUANT_MODE"] == "paper"
    assert data["QUANT_RATE__ORDERS_PER_SECOND"] == "10"
    assert data["QUANT_RATE__MODE"] == "queue"
    assert data["QUANT_SQUARE_OFF_AT"] == "15:15"
    assert "QUANT_ALGO_NAMES" not in data and "QUANT_RISK__STRATEGIES" not in data


def test_the_gateway_reaches_execution_through_its_service(objects: list[Obj]) -> None:
    service = _named(objects, "Service", "-execution")
    deployment = _named(objects, "Deployment", "-execution")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "api"
    gateway_env = {e["name"]: e.get("value") for e in _container(
        _named(objects, "Deployment", "-gateway")
    )["env"]}  # fmt: skip
    url = f"http://{service['metadata']['name']}:{port['port']}"
    assert gateway_env["QUANT_GATEWAY__EXECUTION_URL"] == url


def test_only_the_gateway_reaches_the_execution_api(objects: list[Obj]) -> None:
    policy = _named(objects, "NetworkPolicy", "-execution")["spec"]
    execution = _named(objects, "Deployment", "-execution")
    gateway = _named(objects, "Deployment", "-gateway")
    assert policy["podSelector"]["matchLabels"] == execution["spec"]["selector"]["matchLabels"]
    assert policy["policyTypes"] == ["Ingress"]
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in policy["ingress"]}
    assert all(len(rule["ports"]) == 1 for rule in policy["ingress"])
    assert by_port[8081] == [
        {"podSelector": {"matchLabels": gateway["spec"]["selector"]["matchLabels"]}}
    ]
    health = int(_named(objects, "ConfigMap", "-settings")["data"]["QUANT_METRICS_PORT"])
    assert by_port[health] == [{"podSelector": {}}]  # probes and scrapes, not the API
    assert set(by_port) == {8081, health}
    # No other policy opens the execution pods (policies add up).
    for other in by_kind(objects, "NetworkPolicy"):
        selector = other["spec"]["podSelector"]
        values = [v for e in selector.get("matchExpressions", []) for v in e.get("values", [])]
        assert "execution" not in values, other["metadata"]["name"]


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("execution.mode", "yolo", "/execution/mode"),
        ("execution.rate.ordersPerSecond", "51", "/execution/rate/ordersPerSecond"),
        ("execution.rate.ordersPerSecond", "0", "/execution/rate/ordersPerSecond"),
        ("execution.rate.mode", "drop", "/execution/rate/mode"),
        ("execution.risk.maxDailyLoss", "-5", "/execution/risk/maxDailyLoss"),
        ("execution.risk.maxOrderValue", "12.345", "/execution/risk/maxOrderValue"),
        ("execution.risk.maxOpenOrders", "-1", "/execution/risk/maxOpenOrders"),
        ("execution.squareOffAt", "3pm", "/execution/squareOffAt"),
        ("execution.squareOffAt", "15:30", "/execution/squareOffAt"),
        ("execution.replicas", "2", "replicas"),
    ],
)
def test_values_schema_rejects_bad_execution_values(
    helm_home: Path, key: str, value: str, complaint: str
) -> None:
    done = render(helm_home, {key: value})
    assert done.returncode != 0, f"{key}={value} was accepted"
    assert complaint in done.stderr, done.stderr


def test_execution_money_limits_are_rupee_strings_or_whole_numbers(helm_home: Path) -> None:
    objs = render_objects(helm_home, None, "--set-json", "execution.risk.maxDailyLoss=1500000")
    assert _named(objs, "ConfigMap", "-execution")["data"]["QUANT_RISK__MAX_DAILY_LOSS"] == (
        "1500000"
    )
    done = render(helm_home, None, "--set-json", "execution.risk.maxDailyLoss=5000.5")
    assert done.returncode != 0  # a float cannot be trusted to the paisa: write "5000.50"
    assert "/execution/risk/maxDailyLoss" in done.stderr


def test_execution_api_cannot_share_the_health_port(helm_home: Path) -> None:
    done = render(helm_home, {"execution.apiPort": "9100"})
    assert done.returncode != 0
    assert "execution.apiPort must differ from services.healthPort" in done.stderr


def test_the_scanner_deployment_runs_the_scanner_with_its_own_settings(helm_home: Path) -> None:
    objects = render_objects(
        helm_home,
        {
            "services.scanner.env.QUANT_SCANNER__TOP_N": "10",
            "services.scanner.env.QUANT_SCANNER__INTERVAL_SECONDS": "300",
        },
    )
    scanner = _container(_named(objects, "Deployment", "-scanner"))
    assert scanner["args"] == ["scanner"]
    assert scanner["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert scanner["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    env = {e["name"]: e.get("value") for e in scanner["env"]}
    assert env["QUANT_SCANNER__TOP_N"] == "10" and env["QUANT_SCANNER__INTERVAL_SECONDS"] == "300"
    ingestor = {e["name"] for e in _container(_named(objects, "Deployment", "-ingestor"))["env"]}
    assert not any(name.startswith("QUANT_SCANNER__") for name in ingestor)


STRATEGIES_FILE = "/etc/quant-platform/strategies/strategies.yaml"


def test_the_strategy_deployment_runs_the_operators_strategies_file(objects: list[Obj]) -> None:
    deployment = _named(objects, "Deployment", "-strategy")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # never two at once
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    assert container["args"] == ["strategy", "run"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["QUANT_STRATEGY_CONFIG"] == STRATEGIES_FILE
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert STRATEGIES_FILE.startswith(mounts["strategies"]["mountPath"] + "/")
    assert mounts["strategies"]["readOnly"] is True
    assert env["QUANT_DATA_DIR"] == mounts["state"]["mountPath"]  # writable: the state files
    volumes = {v["name"]: v for v in pod["volumes"]}
    # the ConfigMap the operator writes (quant_operator.strategies: the volume names it),
    # the one its Role may read and patch
    assert volumes["strategies"]["configMap"] == {
        "name": f"{RELEASE}-quant-platform-strategies",
        "optional": True,
    }
    assert "emptyDir" in volumes["state"]
    assert not any(
        o["metadata"]["name"].endswith("-strategies") for o in by_kind(objects, "ConfigMap")
    )


def test_the_strategy_state_can_live_on_a_claim(helm_home: Path) -> None:
    objects = render_objects(
        helm_home,
        {
            "services.strategy.state.existingClaim": "strategy-state",
            "services.strategy.env.QUANT_BARS_FROM_TICKS": "true",
        },
    )
    deployment = _named(objects, "Deployment", "-strategy")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["state"] == {
        "name": "state",
        "persistentVolumeClaim": {"claimName": "strategy-state"},
    }
    env = {e["name"]: e.get("value") for e in _container(deployment)["env"]}
    assert env["QUANT_BARS_FROM_TICKS"] == "true"
    done = render(helm_home, {"services.strategy.env.QUANT_STRATEGY_CONFIG": "/x.yaml"})
    assert done.returncode != 0 and "QUANT_STRATEGY_CONFIG" in done.stderr


def test_scanner_env_takes_only_scanner_settings(helm_home: Path) -> None:
    done = render(helm_home, {"services.scanner.env.QUANT_GATEWAY__PORT": "1"})
    assert done.returncode != 0 and "QUANT_GATEWAY__PORT" in done.stderr


def _operator_settings(objects: list[Obj], monkeypatch: pytest.MonkeyPatch) -> Any:
    from quant_operator.settings import OperatorSettings

    container = _container(_named(objects, "Deployment", "-operator"))
    maps = {o["metadata"]["name"]: o["data"] for o in by_kind(objects, "ConfigMap")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]])
    env.update({e["name"]: e.get("value", "from-a-secret") for e in container.get("env", [])})
    with monkeypatch.context() as m:
        for key in [k for k in os.environ if k.startswith("QUANT_")]:
            m.delenv(key)
        for key, value in env.items():
            m.setenv(key, str(value))
        return OperatorSettings()


def test_the_operator_hands_the_backfill_job_the_services_secret_env(
    objects: list[Obj], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backfill Job gets the same Secret-backed env as the services (names, keys only)."""
    config = _operator_settings(objects, monkeypatch)
    ingestor = _container(_named(objects, "Deployment", "-ingestor"))
    assert list(config.operator.job_secret_env) == ingestor["env"]
    assert config.operator.backfill_universe == "NSE_EQ"
    assert (config.operator.token_secret, config.operator.token_key) == (
        "upstox-token",
        "access_token",
    )
    assert config.operator.sync_env_configmap.endswith("-settings")
    refs = [
        e["valueFrom"]["secretKeyRef"] for e in config.operator.job_secret_env if "valueFrom" in e
    ]
    assert refs and all(set(r) <= {"name", "key", "optional"} for r in refs)


def test_the_backfill_universe_is_a_chart_value(
    helm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = render_objects(helm_home, {"operator.backfillJob.universe": "NIFTY500"})
    assert _operator_settings(objects, monkeypatch).operator.backfill_universe == "NIFTY500"
