"""The end-of-day backfill: the phase machine's decisions, the Job and the status block.

The machine is walked on a fake clock like ``test_operator_phases`` (Jobs are plain
observations); the Job manifest and the status patch are checked as the pure builders
return them; the reconciler runs against the in-memory apiserver of ``operator_kit``,
with a Job pod that reports a termination-log summary.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

import pytest
from operator_kit import JOBS, NS, TD_PATH, complete_jobs, ist, world

from quant.core.clock import IST, datetime_to_ns
from quant_operator import backfill, builders
from quant_operator.builders import DayRef
from quant_operator.phases import (
    MAX_REQUEUE_S,
    BackfillResult,
    BackfillState,
    CreateBackfillJob,
    CreateSyncJob,
    DayStatus,
    Decision,
    JobObservation,
    JobState,
    Observations,
    Phase,
    TokenObservation,
    next_phase,
)
from quant_operator.reconciler import reconcile
from quant_operator.spec import DaySpec, SpecError, parse_spec

__all__ = ["world"]  # the shared fixture

DAY = date(2026, 11, 25)  # Wednesday: close 15:30, closing session until 16:00
TOKEN = TokenObservation(present=True, checksum="tok", expiry_ns=None)
SYNCED = (JobObservation("day1-sync-20261125-1", 1, JobState.SUCCEEDED),)


def at(hh: int, mm: int, ss: int = 0) -> int:
    return datetime_to_ns(datetime.combine(DAY, time(hh, mm, ss), tzinfo=IST))


def spec_for(**extra: Any) -> DaySpec:
    raw: dict[str, Any] = {"date": DAY.isoformat(), "tokenSecretRef": {"name": "upstox-token"}}
    raw.update(extra)
    return parse_spec(raw)


def decide(
    spec: DaySpec,
    phase: Phase | None,
    now: int,
    jobs: tuple[JobObservation, ...] = (),
    *,
    universe: bool = True,
) -> Decision:
    obs = Observations(TOKEN, SYNCED, backfill_jobs=jobs, backfill_universe=universe)
    return next_phase(spec, DayStatus(phase), now, obs)


def creates(d: Decision) -> list[int]:
    return [a.attempt for a in d.actions if isinstance(a, CreateBackfillJob)]


def cond(d: Decision, type_: str) -> Any:
    return {c.type: c for c in d.conditions}[type_]


def job(attempt: int, state: JobState, **kw: Any) -> JobObservation:
    return JobObservation(f"day1-backfill-20261125-{attempt}", attempt, state, **kw)


def test_the_job_starts_in_closing_after_the_delay_and_only_once() -> None:
    spec = spec_for()
    early = decide(spec, Phase.TRADING, at(15, 31))
    assert early.phase is Phase.CLOSING and creates(early) == []
    assert early.backfill is not None and early.backfill.state is BackfillState.PENDING
    assert "15:40 IST" in early.backfill.message
    assert early.requeue_after_s == MAX_REQUEUE_S  # 9 minutes away: look again at the cap
    due = decide(spec, Phase.CLOSING, at(15, 40))
    assert creates(due) == [1] and due.phase is Phase.CLOSING
    running = decide(spec, Phase.CLOSING, at(15, 41), (job(1, JobState.ACTIVE),))
    assert creates(running) == []
    assert running.backfill is not None and running.backfill.state is BackfillState.RUNNING
    assert cond(running, "BackfillSucceeded").status is False
    assert running.replicas is not None and running.replicas["ingestor"] == 1


def test_no_backfill_before_the_close() -> None:
    d = decide(spec_for(), Phase.TRADING, at(15, 29))
    assert d.phase is Phase.TRADING and d.backfill is None and creates(d) == []
    assert "BackfillSucceeded" not in {c.type for c in d.conditions}


def test_the_day_waits_in_closing_for_a_running_job_then_closes_when_it_succeeds() -> None:
    spec = spec_for()
    waiting = decide(spec, Phase.CLOSING, at(16, 5), (job(1, JobState.ACTIVE),))
    assert waiting.phase is Phase.CLOSING
    assert "waiting for the end-of-day backfill" in waiting.message
    assert waiting.replicas is not None and set(waiting.replicas.values()) == {0}
    assert waiting.requeue_after_s <= 10.0
    done = job(1, JobState.SUCCEEDED, finished_ns=at(16, 20), summary="day: 3 symbols")
    closed = decide(spec, Phase.CLOSING, at(16, 21), (done,))
    assert closed.phase is Phase.CLOSED
    assert closed.backfill == BackfillResult(
        BackfillState.SUCCEEDED,
        1,
        "day1-backfill-20261125-1",
        "Job day1-backfill-20261125-1 succeeded",
        at(16, 20),
        "day: 3 symbols",
    )
    c = cond(closed, "BackfillSucceeded")
    assert c.status is True and "day: 3 symbols" in c.message


def test_a_failed_job_is_retried_up_to_max_attempts_and_the_day_still_closes() -> None:
    spec = spec_for(backfill={"maxAttempts": 2})
    failed1 = (job(1, JobState.FAILED, finished_ns=at(15, 50), message="BackoffLimitExceeded"),)
    soon = decide(spec, Phase.CLOSING, at(15, 50, 10), failed1)
    assert creates(soon) == [] and soon.requeue_after_s == pytest.approx(20.0)
    assert soon.backfill is not None and soon.backfill.state is BackfillState.PENDING
    retry = decide(spec, Phase.CLOSING, at(15, 51), failed1)
    assert creates(retry) == [2]
    both = (*failed1, job(2, JobState.FAILED, finished_ns=at(16, 10), message="DeadlineExceeded"))
    d = decide(spec, Phase.CLOSING, at(16, 11), both)
    assert d.phase is Phase.CLOSED and creates(d) == []
    assert d.backfill is not None and d.backfill.state is BackfillState.FAILED
    c = cond(d, "BackfillSucceeded")
    assert c.status is False and c.reason == "Failed" and "DeadlineExceeded" in c.message


def test_a_job_still_running_at_the_deadline_times_out_and_the_day_closes() -> None:
    spec = spec_for(backfill={"waitMinutes": 30})
    before = decide(spec, Phase.CLOSING, at(16, 29), (job(1, JobState.ACTIVE),))
    assert before.phase is Phase.CLOSING
    d = decide(spec, Phase.CLOSING, at(16, 30), (job(1, JobState.ACTIVE),))
    assert d.phase is Phase.CLOSED
    assert d.backfill is not None and d.backfill.state is BackfillState.FAILED
    c = cond(d, "BackfillSucceeded")
    assert c.reason == "TimedOut" and "16:30 IST" in c.message and "still running" in c.message


def test_a_start_after_the_closing_session_moves_the_deadline_with_it() -> None:
    spec = spec_for(backfill={"startDelayMinutes": 60, "waitMinutes": 15})  # 16:30 start
    idle = decide(spec, Phase.CLOSING, at(16, 10))
    assert idle.phase is Phase.CLOSING and creates(idle) == []
    assert idle.requeue_after_s <= 10.0
    start = decide(spec, Phase.CLOSING, at(16, 30))
    assert creates(start) == [1] and start.phase is Phase.CLOSING
    late = decide(spec, Phase.CLOSING, at(16, 45), (job(1, JobState.ACTIVE),))
    assert late.phase is Phase.CLOSED and cond(late, "BackfillSucceeded").reason == "TimedOut"


@pytest.mark.parametrize(
    ("spec", "universe", "why"),
    [
        (spec_for(backfill={"enabled": False}), True, "enabled is false"),
        (spec_for(), False, "no universe"),
    ],
)
def test_a_disabled_backfill_or_no_universe_skips_it(
    spec: DaySpec, universe: bool, why: str
) -> None:
    closing = decide(spec, Phase.TRADING, at(15, 45), universe=universe)
    assert closing.phase is Phase.CLOSING and creates(closing) == []
    closed = decide(spec, Phase.CLOSING, at(16, 0), universe=universe)
    assert closed.phase is Phase.CLOSED and creates(closed) == []
    assert closed.backfill is not None and closed.backfill.state is BackfillState.SKIPPED
    assert why in closed.backfill.message
    assert "BackfillSucceeded" not in {c.type for c in closed.conditions}


def test_an_operator_back_after_the_session_still_runs_the_backfill() -> None:
    d = decide(spec_for(), Phase.TRADING, at(17, 0))
    assert d.phase is Phase.CLOSING and creates(d) == [1]
    too_late = decide(spec_for(), Phase.TRADING, at(17, 30))  # 16:00 + waitMinutes 90
    assert too_late.phase is Phase.CLOSED and creates(too_late) == []
    assert "(never started)" in cond(too_late, "BackfillSucceeded").message


def test_a_day_that_never_ran_gets_no_backfill() -> None:
    created_late = decide(spec_for(), None, at(17, 0))
    assert created_late.phase is Phase.CLOSED and creates(created_late) == []
    still_syncing = decide(spec_for(), Phase.SYNCING, at(17, 0))
    assert still_syncing.phase is Phase.FAILED and creates(still_syncing) == []
    holiday = decide(spec_for(date="2026-11-24"), None, at(17, 0))
    assert holiday.phase is Phase.HOLIDAY and creates(holiday) == []


def test_a_closed_day_holds_and_starts_nothing() -> None:
    d = decide(spec_for(), Phase.CLOSED, at(16, 30))
    assert d.hold and d.actions == () and d.backfill is None


# -- the Job ------------------------------------------------------------------------------

DAYREF = DayRef("day1", NS, "td-uid")


def _job(spec: DaySpec, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "image": "quant-platform:test",
        "default_universe": "NSE_EQ",
        "token_secret": "upstox-token",
    }
    args.update(kw)
    return backfill.build_backfill_job(DAYREF, spec, 1, **args)


def test_the_job_backfills_the_days_universe_day_candles_first() -> None:
    spec = spec_for(
        universe={
            "symbols": ["RELIANCE", "INFY"],
            "instrumentKeys": ["NSE_INDEX|Nifty 50"],
            "lists": [{"name": "banks", "symbols": ["HDFCBANK", "INFY"]}],
        }
    )
    manifest = _job(spec)
    assert manifest["metadata"]["name"] == "day1-backfill-20261125-1"
    assert manifest["metadata"]["ownerReferences"][0]["uid"] == "td-uid"
    assert manifest["spec"]["backoffLimit"] == 1
    assert manifest["spec"]["activeDeadlineSeconds"] == 3600
    pod = manifest["spec"]["template"]["spec"]
    (first,) = pod["initContainers"]
    (second,) = pod["containers"]
    symbols = "RELIANCE,INFY,NSE_INDEX|Nifty 50,HDFCBANK"
    tail = ["--from", "2026-11-25", "--to", "2026-11-25", "--interval"]
    assert first["command"] == ["quant", "backfill"]
    assert first["args"] == ["--symbols", symbols, *tail, "day"]
    assert second["args"] == ["--symbols", symbols, *tail, "1minute"]
    env = {e["name"]: e.get("value") for e in second["env"]}
    assert env["QUANT_BACKFILL__TERMINATION_LOG"] == "/dev/termination-log"
    assert second["terminationMessagePath"] == "/dev/termination-log"
    assert second["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert env["QUANT_UPSTOX__TOKEN_FILE"] == f"{backfill.TOKEN_DIR}/access_token"
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert second["securityContext"]["readOnlyRootFilesystem"] is True
    labels = manifest["spec"]["template"]["metadata"]["labels"]
    selector = dict(t.split("=") for t in backfill.backfill_job_selector(DAYREF, spec).split(","))
    assert selector.items() <= labels.items()


def test_without_a_universe_the_job_takes_the_operators_default() -> None:
    (container,) = _job(spec_for(), default_universe="NIFTY500")["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["args"][:2] == ["--universe", "NIFTY500"]


def test_the_job_mounts_the_days_token_secret_and_the_charts_secret_env() -> None:
    secret_env = (
        {
            "name": "QUANT_QUESTDB__USER",
            "valueFrom": {"secretKeyRef": {"name": "qdb", "key": "user"}},
        },
    )
    spec = spec_for(tokenSecretRef={"name": "my-token", "key": "tok"}, backfill={"image": "x:1"})
    manifest = _job(spec, secret_env=secret_env, env_from_configmap="qp-settings")
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "x:1"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["upstox-token"]["secret"] == {"secretName": "my-token", "optional": True}
    env = {e["name"]: e for e in container["env"]}
    assert env["QUANT_UPSTOX__TOKEN_FILE"]["value"] == f"{backfill.TOKEN_DIR}/tok"
    assert env["QUANT_QUESTDB__USER"]["valueFrom"]["secretKeyRef"]["name"] == "qdb"
    assert container["envFrom"] == [{"configMapRef": {"name": "qp-settings", "optional": True}}]


def test_a_paper_day_without_token_ref_mounts_the_operators_token_secret() -> None:
    spec = parse_spec({"date": DAY.isoformat()})
    pod = _job(spec, token_secret=None)["spec"]["template"]["spec"]
    assert "upstox-token" not in {v["name"] for v in pod["volumes"]}
    pod = _job(spec, token_secret="chart-token", token_key="k")["spec"]["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["upstox-token"]["secret"]["secretName"] == (
        "chart-token"
    )


def test_long_day_names_keep_a_deterministic_valid_job_name() -> None:
    day = DayRef("d" * 60, NS, "u")
    a = backfill.backfill_job_name(day, spec_for(), 2)
    assert a == backfill.backfill_job_name(day, spec_for(), 2)
    assert len(a) <= 63 and "-backfill-20261125-2-" in a
    assert a != builders.sync_job_name(day, spec_for(), 2)


def test_a_universe_too_long_for_one_argument_is_a_spec_error() -> None:
    symbols = [f"SYM{i:05d}X" for i in range(10_000)]
    lists = [{"name": f"l{i}", "symbols": symbols} for i in range(2)]
    with pytest.raises(SpecError, match="--symbols"):
        spec_for(universe={"symbols": [f"A{i}" for i in range(10_000)], "lists": lists})


# -- what the pods report -----------------------------------------------------------------


def _report(interval: str, **kw: Any) -> str:
    base = {
        "interval": interval,
        "symbols": 3,
        "requests": 3,
        "candles_written": 1125 if interval == "1minute" else 3,
        "candles_dropped": 1,
        "gaps": 0,
        "errors": 0,
        "skipped_chunks": 0,
    }
    return json.dumps(base | kw)


def test_the_summary_reads_each_containers_json_line() -> None:
    summary, counts = backfill.summary_from_messages([_report("day"), _report("1minute")])
    assert summary == (
        "day: 3 symbols, 3 candles written, 1 dropped, 0 gaps, 0 errors; "
        "1minute: 3 symbols, 1125 candles written, 1 dropped, 0 gaps, 0 errors"
    )
    assert dict(counts) == {
        "candlesDropped": 2,
        "candlesWritten": 1128,
        "errors": 0,
        "gaps": 0,
        "requests": 6,
        "skippedChunks": 0,
    }


def test_a_crash_log_tail_or_an_error_list_is_reported_as_text() -> None:
    crash = "Traceback (most recent call last):\n  ...\nValueError: unknown symbol FOO"
    summary, counts = backfill.summary_from_messages(
        [_report("day", errors=["RELIANCE: 500"], error="1 request failed"), crash]
    )
    assert "1 errors (1 request failed)" in summary
    assert summary.endswith("ValueError: unknown symbol FOO")
    assert dict(counts)["errors"] == 1


def test_a_run_that_stopped_before_its_report_says_why() -> None:
    early = json.dumps({"interval": "1minute", "error": "unknown symbols: FOO"})
    stopped = _report("day", stopped=True, errors=2, error="RELIANCE: 500")
    summary, counts = backfill.summary_from_messages([stopped, early])
    assert summary == (
        "day: 3 symbols, 3 candles written, 1 dropped, 0 gaps, 2 errors, stopped "
        "(RELIANCE: 500); 1minute: unknown symbols: FOO"
    )
    assert dict(counts)["errors"] == 2


def test_the_newest_reporting_pod_wins() -> None:
    def pod(created: str, message: str | None) -> dict[str, Any]:
        term = {"exitCode": 0} | ({"message": message} if message else {})
        return {
            "metadata": {"creationTimestamp": created},
            "status": {"containerStatuses": [{"state": {"terminated": term}}]},
        }

    pods = [
        pod("2026-11-25T10:10:00Z", _report("1minute", gaps=5)),
        pod("2026-11-25T10:20:00Z", _report("1minute", gaps=1)),
        pod("2026-11-25T10:30:00Z", None),
    ]
    summary, _ = backfill.summary_from_pods(pods)
    assert "1 gaps" in summary
    assert backfill.summary_from_pods([pod("2026-11-25T10:30:00Z", None)]) == ("", ())


# -- the status block ---------------------------------------------------------------------


def test_the_status_block_keeps_its_finish_time_and_drops_stale_counts() -> None:
    done = BackfillResult(BackfillState.SUCCEEDED, 1, "j-1", "ok", None, "s", (("gaps", 0),))
    first = builders.backfill_status(done, {}, ist(16, 20))
    assert first["finishedAt"] == "2026-11-25T10:50:00Z"
    assert first["state"] == "Succeeded" and first["counts"] == {"gaps": 0}
    again = builders.backfill_status(done, first, ist(16, 40))
    assert again["finishedAt"] == first["finishedAt"]
    retry = BackfillResult(BackfillState.PENDING, 1, "j-1", "retrying")
    pending = builders.backfill_status(retry, first, ist(16, 41))
    assert pending["finishedAt"] is None and pending["summary"] is None
    assert pending["counts"] is None


# -- through the reconciler ---------------------------------------------------------------


async def test_the_reconciler_creates_the_job_reads_its_summary_and_closes(world: Any) -> None:
    kube, clock, _, ports, events = world
    secret_env = ({"name": "QUANT_QUESTDB__PASSWORD", "valueFrom": {"secretKeyRef": {}}},)
    ports = replace(ports, backfill_universe="NSE_EQ", job_secret_env=secret_env)
    for hh, mm in [(8, 20), (8, 21), (9, 20), (15, 35)]:
        clock.set_ns(ist(hh, mm))
        await reconcile(ports, NS, "day1", events)
        complete_jobs(kube)
    clock.set_ns(ist(15, 40))
    out = await reconcile(ports, NS, "day1", events)
    assert out is not None and out.phase is Phase.CLOSING
    name = "day1-backfill-20261125-1"
    manifest = kube.objects[f"{JOBS}/{name}"]
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["--universe", "NSE_EQ"]
    assert {e["name"] for e in container["env"]} >= {"QUANT_QUESTDB__PASSWORD"}
    assert ("Normal", "BackfillJobCreated", f"created Job {name}") in events.seen
    status = kube.objects[TD_PATH]["status"]
    assert status["backfill"]["state"] == "Pending"  # asked for; seen running next time
    assert status["backfill"]["message"] == "starting the end-of-day backfill (attempt 1)"
    clock.set_ns(ist(15, 41))
    await reconcile(ports, NS, "day1", events)
    status = kube.objects[TD_PATH]["status"]
    assert status["backfill"]["state"] == "Running" and status["backfill"]["jobName"] == name

    # 16:05: the session is over, the Job is still running: the day waits in Closing.
    clock.set_ns(ist(16, 5))
    out = await reconcile(ports, NS, "day1", events)
    assert out is not None and out.phase is Phase.CLOSING
    # The Job completes; its pod wrote the summary to the termination log.
    complete_jobs(kube)
    labels = manifest["spec"]["template"]["metadata"]["labels"]
    kube.put(
        f"/api/v1/namespaces/{NS}/pods",
        {
            "metadata": {
                "name": f"{name}-abcde",
                "labels": {**labels, "batch.kubernetes.io/job-name": name},
                "creationTimestamp": "2026-11-25T10:10:00Z",
            },
            "status": {
                "initContainerStatuses": [
                    {"state": {"terminated": {"exitCode": 0, "message": _report("day")}}}
                ],
                "containerStatuses": [
                    {"state": {"terminated": {"exitCode": 0, "message": _report("1minute")}}}
                ],
            },
        },
    )
    clock.set_ns(ist(16, 6))
    out = await reconcile(ports, NS, "day1", events)
    assert out is not None and out.phase is Phase.CLOSED
    status = kube.objects[TD_PATH]["status"]
    bf = status["backfill"]
    assert bf["state"] == "Succeeded" and bf["attempts"] == 1
    assert bf["finishedAt"] == "2026-11-25T10:36:00Z"  # first seen finished (fake clock)
    assert bf["counts"]["candlesWritten"] == 1128
    assert bf["summary"].startswith("day: 3 symbols")
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["BackfillSucceeded"]["status"] == "True"
    # A closed day no longer reads the pods.
    kube.calls.clear()
    clock.set_ns(ist(16, 30))
    await reconcile(ports, NS, "day1", events)
    assert not [c for c in kube.calls if c[1].endswith("/pods")]
    assert [k for k in kube.objects if k.startswith(JOBS)] == [
        f"{JOBS}/day1-sync-20261125-1",
        f"{JOBS}/{name}",
    ]


async def test_a_reconcile_with_a_sync_create_and_no_backfill_yet(world: Any) -> None:
    """The backfill Jobs are listed apart: a sync Job is never taken for one."""
    _, clock, _, ports, events = world
    clock.set_ns(ist(8, 20))
    out = await reconcile(replace(ports, backfill_universe="NSE_EQ"), NS, "day1", events)
    assert out is not None and out.decision is not None
    assert [a for a in out.decision.actions if isinstance(a, CreateSyncJob)] == [CreateSyncJob(1)]
    assert out.decision.backfill is None
