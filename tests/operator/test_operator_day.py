"""The operator on the real control plane: a whole simulated day in seconds.

kopf runs in-process (``KopfRunner``) against the test apiserver; the day's time comes
from the ``quant-operator-clock`` ConfigMap, which the tests move. kwok plays the
kubelets, so the sync Job's pod "succeeds" and Deployments get pods.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from tradingday_kit import (
    COMPONENTS,
    apply,
    get,
    ist,
    items,
    operator_env,
    phase_events,
    phase_of,
    prepare_namespace,
    replicas,
    run_operator,
    set_clock,
    token_for,
    token_secret,
    trading_day,
    wait_phase,
    wait_until,
)

pytestmark = [pytest.mark.operator, pytest.mark.slow]

DAY = date(2026, 11, 25)  # Wednesday: a normal NSE session
SYNC_SELECTOR = "quant-platform.io/component=instrument-sync"


def _conditions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (body.get("status") or {}).get("conditions") or ()}


def _checksums(cluster: Any, ns: str) -> dict[str, str | None]:
    out = {}
    for d in items(cluster, ns, "deployments", "quant-platform.io/component"):
        annotations = d["spec"]["template"]["metadata"].get("annotations") or {}
        out[d["metadata"]["name"]] = annotations.get("quant-platform.io/token-checksum")
    return out


def _job_complete(cluster: Any, ns: str) -> bool:
    jobs = items(cluster, ns, "jobs", SYNC_SELECTOR)
    return any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for j in jobs
        for c in (j.get("status") or {}).get("conditions") or ()
    )


def test_a_whole_day_phases_scaling_sync_token_and_kill_switch(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 7, 0))
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        apply(cluster, trading_day("day", ns, DAY))
        wait_phase(cluster, ns, "day", "Pending")
        assert set(replicas(cluster, ns).values()) == {0, 1}  # gateway 1, the rest 0

        # 08:20 IST: preparation; token is valid, so the sync Job runs.
        set_clock(cluster, ns, ist(DAY, 8, 20))
        wait_phase(cluster, ns, "day", "SyncingInstruments")
        wait_until("sync Job to complete (kwok)", lambda: _job_complete(cluster, ns), 60)
        body = wait_until(
            "instrumentSync.succeeded",
            lambda: (
                (b := get(cluster, ns, "tradingday", "day"))
                .get("status", {})
                .get("instrumentSync", {})
                .get("succeeded")
                and b
            ),
        )
        assert body["status"]["instrumentSync"]["jobName"] == "day-sync-20261125-1"
        assert body["status"]["observedGeneration"] == body["metadata"]["generation"]
        assert _conditions(body)["TokenValid"]["status"] == "True"
        assert body["status"]["tokenExpiry"] == "2026-11-25T22:00:00Z"  # 03:30 IST next day
        assert all(v == 0 for k, v in replicas(cluster, ns).items() if k != "gateway")

        # 09:01 pre-open: the spec's replicas; 09:20 trading.
        set_clock(cluster, ns, ist(DAY, 9, 1))
        wait_phase(cluster, ns, "day", "PreOpen")
        # spec.replicas.strategy is 2: each strategy pod runs every strategy, so never above 1
        wanted = {"ingestor": 2, "features": 1, "scanner": 1, "strategy": 1, "gateway": 1}
        wait_until("pre-open replicas", lambda: replicas(cluster, ns) == wanted)
        set_clock(cluster, ns, ist(DAY, 9, 20))
        wait_phase(cluster, ns, "day", "Trading")

        # Kill switch: strategy to 0, status shows it; release brings it back.
        cluster.kubectl(
            "patch", "-n", ns, "tradingday", "day", "--type=merge", "-p",
            json.dumps({"spec": {"killSwitch": True}}),
        )  # fmt: skip
        wait_until("strategy at 0", lambda: replicas(cluster, ns)["strategy"] == 0)
        body = wait_until(
            "status.killSwitch",
            lambda: (b := get(cluster, ns, "tradingday", "day"))["status"].get("killSwitch") and b,
        )
        assert _conditions(body)["KillSwitch"]["status"] == "True"
        assert replicas(cluster, ns)["ingestor"] == 2 and phase_of(cluster, ns, "day") == "Trading"
        cluster.kubectl(
            "patch", "-n", ns, "tradingday", "day", "--type=merge", "-p",
            json.dumps({"spec": {"killSwitch": False}}),
        )  # fmt: skip
        wait_until("strategy back to 1", lambda: replicas(cluster, ns)["strategy"] == 1)

        # A new token in the Secret rolls every Deployment that reads it.
        before = wait_until(
            "checksums set", lambda: (c := _checksums(cluster, ns)) and all(c.values()) and c
        )
        apply(cluster, token_secret(ns, token_for(DAY, sub="ROTATED")))
        after = wait_until(
            "checksums to change",
            lambda: (c := _checksums(cluster, ns)) and all(c[k] != before[k] for k in c) and c,
        )
        assert len(set(after.values())) == 1

        # 15:35 closing session: strategy 0, data services stay; 16:05 the end-of-day
        # backfill Job runs (kwok completes it), then closed: all down.
        set_clock(cluster, ns, ist(DAY, 15, 35))
        wait_phase(cluster, ns, "day", "Closing")
        wait_until("strategy 0 in closing", lambda: replicas(cluster, ns)["strategy"] == 0)
        assert replicas(cluster, ns)["ingestor"] == 2
        set_clock(cluster, ns, ist(DAY, 16, 5))
        closed = wait_phase(cluster, ns, "day", "Closed", timeout=60)
        down = {c: 0 for c in COMPONENTS} | {"gateway": 1}
        wait_until("all scaled down", lambda: replicas(cluster, ns) == down)

    assert len(items(cluster, ns, "jobs", SYNC_SELECTOR)) == 1
    assert closed["status"]["backfill"]["state"] == "Succeeded"
    assert closed["status"]["backfill"]["jobName"] == "day-backfill-20261125-1"
    assert _conditions(closed)["BackfillSucceeded"]["status"] == "True"
    order = [m.split(":")[0] for m in phase_events(cluster, ns, "day")]
    assert order == [
        "(new) -> Pending",
        "Pending -> SyncingInstruments",
        "SyncingInstruments -> PreOpen",
        "PreOpen -> Trading",
        "Trading -> Closing",
        "Closing -> Closed",
    ]


def test_a_holiday_is_holiday_and_scales_nothing(k8s_cluster: Any, k8s_namespace: str) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    holiday = date(2026, 11, 24)  # Prakash Gurpurb Sri Guru Nanak Dev
    prepare_namespace(cluster, ns, holiday, ist(holiday, 10, 0))
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        apply(cluster, trading_day("gurpurb", ns, holiday))
        body = wait_phase(cluster, ns, "gurpurb", "Holiday")
        set_clock(cluster, ns, ist(holiday, 11, 0))
        wait_until(
            "a few reconciles",
            lambda: phase_events(cluster, ns, "gurpurb") and True,
        )
    assert "Guru Nanak" in body["status"]["message"]
    assert _conditions(body)["MarketOpen"]["status"] == "False"
    assert all(v == 0 for k, v in replicas(cluster, ns).items() if k != "gateway")
    assert items(cluster, ns, "jobs", SYNC_SELECTOR) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"date": "2026-13-01"}, "spec.date"),
        ({"date": "2026-11-25", "mode": "live", "tokenSecretRef": None}, "mode=live requires"),
        ({"date": "2026-11-25", "replicas": {"strategy": -1}}, "spec.replicas.strategy"),
        ({"date": "2026-11-25", "exchange": "NYSE"}, "spec.exchange"),
    ],
)
def test_an_invalid_spec_is_rejected_by_the_apiserver_with_a_clear_message(
    k8s_cluster: Any, k8s_namespace: str, spec: dict[str, Any], message: str
) -> None:
    body = trading_day("bad", k8s_namespace, DAY)
    body["spec"].update(spec)
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    result = k8s_cluster.kubectl("apply", "-f", "-", input=json.dumps(body), check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_spec_the_schema_accepts_but_the_operator_cannot_run_fails_clearly(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 7, 0))
    with (
        operator_env(str(cluster.kubeconfig), ns),
        run_operator(ns, reraise=False),
    ):
        # marketOpen after the (default) close: each field is valid alone.
        apply(cluster, trading_day("odd", ns, DAY, schedule={"marketOpen": "17:00"}))
        body = wait_phase(cluster, ns, "odd", "Failed")
    cond = _conditions(body)["SpecValid"]
    assert cond["status"] == "False" and "ordered" in cond["message"]
    assert "invalid spec" in body["status"]["message"]


def test_an_operator_restart_mid_day_resumes_without_a_duplicate_job(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 8, 20))
    with operator_env(str(cluster.kubeconfig), ns):
        with run_operator(ns):
            apply(cluster, trading_day("day", ns, DAY))
            wait_phase(cluster, ns, "day", "SyncingInstruments")
            wait_until("the Job", lambda: items(cluster, ns, "jobs", SYNC_SELECTOR))
        # The operator is down; the day moves on meanwhile.
        wait_until("sync Job to complete (kwok)", lambda: _job_complete(cluster, ns), 60)
        set_clock(cluster, ns, ist(DAY, 10, 0))
        with run_operator(ns):
            wait_phase(cluster, ns, "day", "Trading")
            wait_until("trading replicas", lambda: replicas(cluster, ns)["strategy"] == 1)
    jobs = items(cluster, ns, "jobs", SYNC_SELECTOR)
    assert [j["metadata"]["name"] for j in jobs] == ["day-sync-20261125-1"]
    order = [m.split(":")[0] for m in phase_events(cluster, ns, "day")]
    assert order[-1] == "SyncingInstruments -> Trading"


def test_deleting_a_running_day_scales_its_workloads_down(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 8, 20))
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        apply(cluster, trading_day("day", ns, DAY))
        wait_until("sync Job to complete (kwok)", lambda: _job_complete(cluster, ns), 60)
        set_clock(cluster, ns, ist(DAY, 10, 0))
        wait_phase(cluster, ns, "day", "Trading")
        wait_until("trading replicas", lambda: replicas(cluster, ns)["ingestor"] == 2)
        cluster.kubectl("delete", "-n", ns, "tradingday", "day", "--wait=true", "--timeout=30s")
        wait_until(
            "scale-down on deletion",
            lambda: all(v == 0 for k, v in replicas(cluster, ns).items() if k != "gateway"),
        )
    assert replicas(cluster, ns)["gateway"] == 1


def test_an_expired_token_holds_the_day_until_a_fresh_one_is_written(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 8, 20))
    yesterday = date(2026, 11, 24)
    apply(cluster, token_secret(ns, token_for(yesterday)))  # died at 03:30 IST today
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        apply(cluster, trading_day("day", ns, DAY))
        body = wait_phase(cluster, ns, "day", "Authenticating")
        cond = _conditions(body)["TokenValid"]
        assert cond["status"] == "False" and cond["reason"] == "Expired"
        assert "upstox-token" in cond["message"] and "quant auth login" in cond["message"]
        assert items(cluster, ns, "jobs", SYNC_SELECTOR) == []
        # `quant auth login` (or the token webhook) writes today's token.
        apply(cluster, token_secret(ns, token_for(DAY)))
        body = wait_phase(cluster, ns, "day", "SyncingInstruments")
    assert _conditions(body)["TokenValid"]["status"] == "True"
    assert len(items(cluster, ns, "jobs", SYNC_SELECTOR)) == 1


def test_a_day_without_strategies_leaves_the_strategy_at_zero_and_says_why(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 8, 20))
    day = trading_day("day", ns, DAY)
    del day["spec"]["replicas"]  # the CRD's defaults apply: strategy 1 ...
    del day["spec"]["strategies"]  # ... but there is nothing to run
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        apply(cluster, day)
        wait_until("sync Job to complete (kwok)", lambda: _job_complete(cluster, ns), 60)
        set_clock(cluster, ns, ist(DAY, 10, 0))
        wait_phase(cluster, ns, "day", "Trading")
        wanted = {"ingestor": 1, "features": 1, "scanner": 1, "strategy": 0, "gateway": 1}
        wait_until("default trading replicas", lambda: replicas(cluster, ns) == wanted)
        body = wait_until(
            "StrategiesConfigured",
            lambda: (
                (b := get(cluster, ns, "tradingday", "day"))
                and "StrategiesConfigured" in _conditions(b)
                and b
            ),
        )
    cond = _conditions(body)["StrategiesConfigured"]
    assert (cond["status"], cond["reason"]) == ("False", "NoStrategies")
    assert "stays at 0 replicas" in cond["message"]
    assert get(cluster, ns, "tradingday", "day")["spec"]["replicas"] == {
        "ingestor": 1,
        "features": 1,
        "scanner": 1,
        "strategy": 1,
    }
