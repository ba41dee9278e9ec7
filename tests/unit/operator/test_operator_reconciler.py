"""The reconciler against an in-memory apiserver: apply, idempotence, restart, finalizer."""

from __future__ import annotations

from typing import Any

import pytest
from operator_kit import (
    DEPLOY,
    JOBS,
    NS,
    TD_PATH,
    Events,
    complete_jobs,
    deployment,
    ist,
    jwt,
    replicas,
    set_token,
    world,
)

from quant_operator import builders
from quant_operator.control import ControlPublishError, RecordingControlPublisher
from quant_operator.reconciler import Ports, finalize, reconcile
from quant_operator.spec import SpecError
from quant_operator.timesource import ClockTimeSource

__all__ = ["world"]  # the shared fixture


async def test_a_day_through_the_reconciler_scales_and_records_status(world: Any) -> None:
    kube, clock, control, ports, events = world
    phases = []
    for hh, mm in [(7, 0), (8, 20), (8, 21), (9, 1), (9, 20), (15, 35), (16, 1), (16, 30)]:
        clock.set_ns(ist(hh, mm))
        out = await reconcile(ports, NS, "day1", events)
        assert out is not None
        phases.append(out.phase.value)
        complete_jobs(kube)
        if (hh, mm) == (9, 20):
            assert replicas(kube) == {
                "ingestor": 2,
                "features": 1,
                "scanner": 1,
                "strategy": 1,  # spec.replicas.strategy is 2: never more than one
                "gateway": 1,
            }
        if (hh, mm) == (15, 35):
            assert replicas(kube)["strategy"] == 0 and replicas(kube)["ingestor"] == 2
    assert phases == [
        "Pending",
        "SyncingInstruments",
        "SyncingInstruments",
        "PreOpen",
        "Trading",
        "Closing",
        "Closed",
        "Closed",
    ]
    assert replicas(kube) == {
        "ingestor": 0,
        "features": 0,
        "scanner": 0,
        "strategy": 0,
        "gateway": 1,
    }
    jobs = [k for k in kube.objects if k.startswith(JOBS)]
    assert jobs == [f"{JOBS}/day1-sync-20261125-1"]
    status = kube.objects[TD_PATH]["status"]
    assert status["phase"] == "Closed" and status["observedGeneration"] == 1
    assert status["instrumentSync"]["succeeded"] is True
    assert status["instrumentSync"]["jobName"] == "day1-sync-20261125-1"
    assert status["tokenExpiry"].endswith("Z")
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["TokenValid"]["status"] == "True" and conds["SpecValid"]["status"] == "True"
    changes = [m for _, r, m in events.seen if r == "PhaseChanged"]
    assert [m.split(":")[0] for m in changes] == [
        "(new) -> Pending",
        "Pending -> SyncingInstruments",
        "SyncingInstruments -> PreOpen",
        "PreOpen -> Trading",
        "Trading -> Closing",
        "Closing -> Closed",
    ]
    # Every token-reading Deployment carries the token checksum; the token is never stored.
    dep = kube.objects[f"{DEPLOY}/quant-ingestor"]
    checksum = dep["spec"]["template"]["metadata"]["annotations"][
        builders.ANNOTATION_TOKEN_CHECKSUM
    ]
    assert len(checksum) == 64 and "." not in checksum
    assert control.sent == []


async def test_a_restart_mid_sync_does_not_create_a_second_job(world: Any) -> None:
    kube, clock, _, ports, events = world
    clock.set_ns(ist(8, 20))
    await reconcile(ports, NS, "day1", events)
    restarted = Ports(
        kube, ClockTimeSource(clock), RecordingControlPublisher(), None, "img", real_time=False
    )
    for _ in range(3):
        await reconcile(restarted, NS, "day1", Events())
    assert len([k for k in kube.objects if k.startswith(JOBS)]) == 1
    assert not [c for c in kube.calls if c == ("POST", JOBS)][1:]


async def test_a_job_that_keeps_failing_fails_the_day(world: Any) -> None:
    kube, clock, _, ports, events = world
    kube.objects[TD_PATH]["spec"]["instrumentSync"] = {"maxAttempts": 2}
    for minute in (20, 21, 22, 23):
        clock.set_ns(ist(8, minute))
        await reconcile(ports, NS, "day1", events)
        complete_jobs(kube, "Failed")
    status = kube.objects[TD_PATH]["status"]
    assert status["phase"] == "Failed"
    assert len([k for k in kube.objects if k.startswith(JOBS)]) == 2
    cond = {c["type"]: c for c in status["conditions"]}["InstrumentsSynced"]
    assert cond["status"] == "False" and "BackoffLimitExceeded" in cond["message"]
    assert ("Warning", "PhaseChanged") in [(t, r) for t, r, _ in events.seen]


async def test_kill_switch_publishes_once_and_scales_strategy_down(world: Any) -> None:
    kube, clock, control, ports, events = world
    clock.set_ns(ist(8, 20))
    await reconcile(ports, NS, "day1", events)
    complete_jobs(kube)
    clock.set_ns(ist(10, 0))
    await reconcile(ports, NS, "day1", events)
    kube.objects[TD_PATH]["spec"]["killSwitch"] = True
    await reconcile(ports, NS, "day1", events)
    await reconcile(ports, NS, "day1", events)
    assert [(c.engaged, c.trading_day) for c in control.sent] == [(True, "2026-11-25")]
    assert replicas(kube)["strategy"] == 0 and replicas(kube)["ingestor"] == 2
    status = kube.objects[TD_PATH]["status"]
    assert status["killSwitch"] is True
    assert {c["type"]: c for c in status["conditions"]}["KillSwitch"]["status"] == "True"


async def test_a_new_token_rolls_only_the_deployments_that_read_it(world: Any) -> None:
    kube, clock, _, ports, events = world
    kube.put(DEPLOY, deployment("scanner", uses_token=False))
    clock.set_ns(ist(10, 0))
    await reconcile(ports, NS, "day1", events)

    def sums() -> dict[str, str | None]:
        return {
            k.rsplit("/", 1)[1]: (
                (o["spec"]["template"].get("metadata") or {}).get("annotations") or {}
            ).get(builders.ANNOTATION_TOKEN_CHECKSUM)
            for k, o in kube.objects.items()
            if k.startswith(DEPLOY)
        }

    before = sums()
    set_token(kube, jwt(ist(3, 30) // 10**9 + 2 * 86400))
    await reconcile(ports, NS, "day1", events)
    after = sums()
    assert before["quant-scanner"] is None and after["quant-scanner"] is None
    for name in ("quant-ingestor", "quant-strategy", "quant-gateway"):
        assert after[name] is not None and after[name] != before[name]


async def test_an_invalid_spec_is_recorded_and_raised(world: Any) -> None:
    kube, _, _, ports, events = world
    kube.objects[TD_PATH]["spec"]["schedule"] = {"marketOpen": "17:00"}
    with pytest.raises(SpecError, match="ordered"):
        await reconcile(ports, NS, "day1", events)
    status = kube.objects[TD_PATH]["status"]
    assert status["phase"] == "Failed" and "invalid spec" in status["message"]
    cond = {c["type"]: c for c in status["conditions"]}["SpecValid"]
    assert cond["status"] == "False"
    # Fixing the spec starts the day again.
    kube.objects[TD_PATH]["spec"]["schedule"] = {}
    out = await reconcile(ports, NS, "day1", events)
    assert out is not None and out.phase.value == "Pending"


async def test_deleting_a_running_day_scales_down_but_an_old_day_does_not(world: Any) -> None:
    kube, clock, _, ports, events = world
    clock.set_ns(ist(8, 20))
    await reconcile(ports, NS, "day1", events)
    complete_jobs(kube)
    clock.set_ns(ist(10, 0))
    await reconcile(ports, NS, "day1", events)
    assert replicas(kube)["ingestor"] == 2
    await finalize(ports, NS, {"status": {"phase": "Closed"}}, events)
    assert replicas(kube)["ingestor"] == 2
    await finalize(ports, NS, kube.objects[TD_PATH], events)
    assert replicas(kube) == {
        "ingestor": 0,
        "features": 0,
        "scanner": 0,
        "strategy": 0,
        "gateway": 1,
    }


async def test_a_deleted_day_reconciles_to_nothing(world: Any) -> None:
    kube, _, _, ports, events = world
    del kube.objects[TD_PATH]
    assert await reconcile(ports, NS, "day1", events) is None


class _DownControl:
    async def publish(self, command: Any) -> None:
        raise ControlPublishError("control topic unreachable")


async def test_kill_switch_scales_strategy_down_even_when_publishing_fails(world: Any) -> None:
    kube, clock, _, ports, events = world
    clock.set_ns(ist(8, 20))
    await reconcile(ports, NS, "day1", events)
    complete_jobs(kube)
    clock.set_ns(ist(10, 0))
    await reconcile(ports, NS, "day1", events)
    kube.objects[TD_PATH]["spec"]["killSwitch"] = True
    down = Ports(kube, ports.time, _DownControl(), None, "img", real_time=False)
    with pytest.raises(ControlPublishError):
        await reconcile(down, NS, "day1", events)
    assert replicas(kube)["strategy"] == 0
    assert kube.objects[TD_PATH]["status"].get("killSwitch") is not True  # not yet published
