"""The operator and ``spec.strategies`` on the real control plane.

While the day is active the operator writes the strategies file into the ConfigMap the
strategy Deployment mounts (owned by the TradingDay, the format ``quant strategy run``
reads), stamps its checksum on the pod template, scales the strategy to one pod in
Trading, and gives the execution Deployment the strategies' algo names and limits. A
changed parameter rewrites the file and restarts the strategy pods.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tradingday_kit import (
    STRATEGIES_CONFIGMAP,
    STRATEGY,
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

from quant.strategy.config import load_strategies, strategy_entries

pytestmark = [pytest.mark.operator, pytest.mark.slow]

DAY = date(2026, 11, 25)
CHECKSUM = "quant-platform.io/strategies-checksum"


def _job_complete(cluster: Any, ns: str) -> bool:
    jobs = items(cluster, ns, "jobs", "quant-platform.io/component=instrument-sync")
    return any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for j in jobs
        for c in (j.get("status") or {}).get("conditions") or ()
    )


def _configmap(cluster: Any, ns: str) -> dict[str, Any] | None:
    found = [
        c for c in items(cluster, ns, "configmaps") if c["metadata"]["name"] == STRATEGIES_CONFIGMAP
    ]
    return found[0] if found else None


def _template_checksum(cluster: Any, ns: str) -> str | None:
    template = get(cluster, ns, "deployment", "quant-strategy")["spec"]["template"]
    value = ((template.get("metadata") or {}).get("annotations") or {}).get(CHECKSUM)
    return value if isinstance(value, str) else None


def test_the_days_strategies_reach_the_strategy_and_execution_deployments(
    k8s_cluster: Any, k8s_namespace: str, tmp_path: Path
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 8, 20))
    apply(cluster, execution_deployment(ns))
    orb = {"id": "orb", "class": "quant.strategy.examples.ma_cross:MaCross", "params": {}}
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        apply(cluster, trading_day("day", ns, DAY, strategies=[STRATEGY, orb]))
        wait_phase(cluster, ns, "day", "SyncingInstruments")
        assert replicas(cluster, ns)["strategy"] == 0  # not before the session
        # Execution learns the algo names and per-strategy limits once the day is active.
        env = wait_until(
            "algo names on execution",
            lambda: (
                (e := container_env(cluster, ns, "quant-execution")).get("QUANT_ALGO_NAMES") and e
            ),
        )
        assert json.loads(env["QUANT_ALGO_NAMES"]) == {"macross": "MAC-1"}
        assert json.loads(env["QUANT_RISK__STRATEGIES"]) == {
            "macross": {
                "max_daily_loss": "2000.00",
                "max_exposure": "150000.00",
                "max_position_quantity": 100,
            }
        }

        wait_until("sync Job to complete (kwok)", lambda: _job_complete(cluster, ns), 60)
        set_clock(cluster, ns, ist(DAY, 9, 20))
        wait_phase(cluster, ns, "day", "Trading")
        wait_until("one strategy pod", lambda: replicas(cluster, ns)["strategy"] == 1)
        cm = _configmap(cluster, ns)
        assert cm is not None
        owner = cm["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"]) == ("TradingDay", "day")
        text = cm["data"]["strategies.yaml"]
        checksum = wait_until("the checksum", lambda: _template_checksum(cluster, ns))
        assert checksum == cm["metadata"]["annotations"][CHECKSUM]
        # The file is what `quant strategy run` reads (QUANT_STRATEGY_CONFIG).
        path = tmp_path / "strategies.yaml"
        path.write_text(text)
        entries = strategy_entries([], path)
        assert [(e.id, e.algo_name, e.mode) for e in entries] == [
            ("macross", "MAC-1", "paper"),
            ("orb", "", "paper"),
        ]
        assert load_strategies(entries)[0].params.model_dump()["slow"] == 20
        body = get(cluster, ns, "tradingday", "day")
        (cond,) = [c for c in body["status"]["conditions"] if c["type"] == "StrategiesConfigured"]
        assert cond["status"] == "True" and "macross" in cond["message"]

        # New parameters: the file is rewritten and the strategy pods restart.
        changed = copy.deepcopy(STRATEGY)
        changed["params"]["slow"] = 30
        patch = {"spec": {"strategies": [changed]}}
        cluster.kubectl(
            "patch", "-n", ns, "tradingday", "day", "--type=merge", "-p", json.dumps(patch)
        )
        wait_until("a new checksum", lambda: _template_checksum(cluster, ns) != checksum)
        cm = _configmap(cluster, ns)
        assert cm is not None and "slow: 30" in cm["data"]["strategies.yaml"]
        assert "orb" not in cm["data"]["strategies.yaml"]
        assert replicas(cluster, ns)["strategy"] == 1
