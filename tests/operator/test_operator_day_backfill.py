"""The end-of-day backfill Job on the real control plane (kopf in-process, kwok pods).

The day starts in the afternoon on the ConfigMap clock (the instrument sync runs first,
then the day is in Closing); kwok runs the backfill Job's pod to completion, and the
test writes the termination messages ``quant backfill`` would have written into the
pod's status, as a kubelet does. A ResourceQuota of zero pods keeps a Job from ever
running, for the timeout and the failure paths.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from tradingday_kit import (
    apply,
    get,
    ist,
    items,
    operator_env,
    phase_events,
    prepare_namespace,
    replicas,
    run_operator,
    set_clock,
    trading_day,
    wait_phase,
    wait_until,
)

pytestmark = [pytest.mark.operator, pytest.mark.slow]

DAY = date(2026, 11, 25)  # Wednesday: close 15:30, closing session until 16:00
BACKFILL = "quant-platform.io/component=eod-backfill"
JOB = "day-backfill-20261125-1"


def _backfill(cluster: Any, ns: str) -> dict[str, Any]:
    found: dict[str, Any] = (get(cluster, ns, "tradingday", "day").get("status") or {}).get(
        "backfill"
    ) or {}
    return found


def _conditions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (body.get("status") or {}).get("conditions") or ()}


def _job_done(cluster: Any, ns: str, name: str, kind: str = "Complete") -> bool:
    jobs = [j for j in items(cluster, ns, "jobs", BACKFILL) if j["metadata"]["name"] == name]
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for j in jobs
        for c in (j.get("status") or {}).get("conditions") or ()
    )


def _report(interval: str, written: int) -> str:
    return json.dumps(
        {
            "interval": interval,
            "symbols": 2,
            "requests": 2,
            "candles_written": written,
            "candles_dropped": 0,
            "gaps": 0,
            "errors": 0,
            "skipped_chunks": 0,
        }
    )


def _write_termination_messages(cluster: Any, ns: str, job: str) -> None:
    """What the kubelet does with ``/dev/termination-log``: into the container statuses."""
    (pod,) = items(cluster, ns, "pods", f"batch.kubernetes.io/job-name={job}")
    status = pod["status"]
    messages = {"backfill-day": _report("day", 2), "backfill-1minute": _report("1minute", 750)}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or ():
            terminated = cs.setdefault("state", {}).setdefault("terminated", {"exitCode": 0})
            terminated.setdefault("reason", "Completed")
            terminated["message"] = messages[cs["name"]]
    patch = {k: status[k] for k in ("initContainerStatuses", "containerStatuses") if k in status}
    cluster.kubectl(
        "patch", "-n", ns, "pod", pod["metadata"]["name"], "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": patch}),
    )  # fmt: skip


def _zero_pods(cluster: Any, ns: str) -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "no-pods", "namespace": ns},
        "spec": {"hard": {"pods": "0"}},
    }
    apply(cluster, quota)


def _start_closing(cluster: Any, ns: str, **spec: Any) -> None:
    """A day created at 15:35: sync Job (kwok), then Closing by the clock."""
    day = trading_day(
        "day", ns, DAY, universe={"symbols": ["RELIANCE"], "instrumentKeys": ["NSE_INDEX|Nifty 50"]}
    )
    day["spec"].update(spec)
    apply(cluster, day)
    wait_phase(cluster, ns, "day", "Closing", timeout=60)


def test_closing_runs_the_backfill_job_and_the_status_follows_it(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 15, 35))
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        _start_closing(cluster, ns)
        assert items(cluster, ns, "jobs", BACKFILL) == []  # starts at 15:40
        assert _backfill(cluster, ns)["state"] == "Pending"

        set_clock(cluster, ns, ist(DAY, 15, 45))
        wait_until("the backfill Job", lambda: items(cluster, ns, "jobs", BACKFILL))
        wait_until("the Job to complete (kwok)", lambda: _job_done(cluster, ns, JOB), 60)
        wait_until("backfill Succeeded", lambda: _backfill(cluster, ns).get("state") == "Succeeded")
        _write_termination_messages(cluster, ns, JOB)
        block = wait_until(
            "the summary in the status", lambda: (b := _backfill(cluster, ns)).get("summary") and b
        )
        assert get(cluster, ns, "tradingday", "day")["status"]["phase"] == "Closing"

        set_clock(cluster, ns, ist(DAY, 16, 5))
        body = wait_phase(cluster, ns, "day", "Closed")
        down = {"ingestor": 0, "features": 0, "scanner": 0, "strategy": 0, "gateway": 1}
        wait_until("all scaled down", lambda: replicas(cluster, ns) == down)

    assert block["jobName"] == JOB and block["attempts"] == 1
    assert block["summary"] == (
        "day: 2 symbols, 2 candles written, 0 dropped, 0 gaps, 0 errors; "
        "1minute: 2 symbols, 750 candles written, 0 dropped, 0 gaps, 0 errors"
    )
    assert block["counts"]["candlesWritten"] == 752 and block["finishedAt"].endswith("Z")
    final = body["status"]["backfill"]
    assert final["state"] == "Succeeded" and final["summary"] == block["summary"]
    cond = _conditions(body)["BackfillSucceeded"]
    assert cond["status"] == "True" and "750 candles written" in cond["message"]

    (job,) = items(cluster, ns, "jobs", BACKFILL)
    assert job["metadata"]["ownerReferences"][0]["kind"] == "TradingDay"
    pod = job["spec"]["template"]["spec"]
    (first,), (second,) = pod["initContainers"], pod["containers"]
    assert first["args"][-1] == "day" and second["args"][-1] == "1minute"
    assert second["args"][:2] == ["--symbols", "RELIANCE,NSE_INDEX|Nifty 50"]
    assert second["args"][2:6] == ["--from", "2026-11-25", "--to", "2026-11-25"]
    assert second["image"] == "quant-platform:test"
    order = [m.split(":")[0] for m in phase_events(cluster, ns, "day")]
    assert order[-2:] == ["SyncingInstruments -> Closing", "Closing -> Closed"]


def test_the_day_waits_for_a_job_that_cannot_run_then_closes_timed_out(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 15, 35))
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        _start_closing(cluster, ns, backfill={"waitMinutes": 30})  # the Job at 15:40
        _zero_pods(cluster, ns)  # after the sync: the backfill Job gets no pod
        set_clock(cluster, ns, ist(DAY, 15, 45))
        wait_until("backfill Running", lambda: _backfill(cluster, ns).get("state") == "Running")
        set_clock(cluster, ns, ist(DAY, 16, 10))
        wait_until(
            "the wait message",
            lambda: (
                "waiting for the end-of-day backfill"
                in get(cluster, ns, "tradingday", "day")["status"]["message"]
            ),
        )
        down = {"ingestor": 0, "features": 0, "scanner": 0, "strategy": 0, "gateway": 1}
        wait_until("scaled down while waiting", lambda: replicas(cluster, ns) == down)
        assert get(cluster, ns, "tradingday", "day")["status"]["phase"] == "Closing"
        set_clock(cluster, ns, ist(DAY, 16, 30))
        body = wait_phase(cluster, ns, "day", "Closed")
    cond = _conditions(body)["BackfillSucceeded"]
    assert cond["status"] == "False" and cond["reason"] == "TimedOut"
    assert body["status"]["backfill"]["state"] == "Failed"
    assert f"Job {JOB} still running" in cond["message"]


def test_a_failed_job_is_reported_and_the_day_still_closes(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    """The Job controller fails a Job at its deadline (60 s: the shortest the CRD allows)."""
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 15, 35))
    spec = {"backfill": {"maxAttempts": 1, "activeDeadlineSeconds": 60}}
    with operator_env(str(cluster.kubeconfig), ns), run_operator(ns):
        _start_closing(cluster, ns, **spec)
        _zero_pods(cluster, ns)
        set_clock(cluster, ns, ist(DAY, 15, 45))
        wait_until("the backfill Job", lambda: items(cluster, ns, "jobs", BACKFILL))
        wait_until("the Job's deadline", lambda: _job_done(cluster, ns, JOB, "Failed"), 120)
        block = wait_until(
            "backfill Failed", lambda: (b := _backfill(cluster, ns)).get("state") == "Failed" and b
        )
        set_clock(cluster, ns, ist(DAY, 16, 5))
        body = wait_phase(cluster, ns, "day", "Closed")
    assert "DeadlineExceeded" in block["message"] and block["finishedAt"].endswith("Z")
    cond = _conditions(body)["BackfillSucceeded"]
    assert cond["status"] == "False" and cond["reason"] == "Failed"
    assert len(items(cluster, ns, "jobs", BACKFILL)) == 1  # maxAttempts: 1
