"""The phase machine walked over whole days with a fake clock (no cluster, no kopf)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant_operator.phases import (
    CreateBackfillJob,
    CreateSyncJob,
    DayStatus,
    Decision,
    DeploymentObservation,
    JobObservation,
    JobState,
    Observations,
    Phase,
    PublishKillSwitch,
    RequestToken,
    RollDeployment,
    TokenObservation,
    next_phase,
)
from quant_operator.spec import DaySpec, parse_spec

DAY = date(2026, 11, 25)  # a Wednesday, normal session
GOOD_TOKEN = TokenObservation(present=True, checksum="abc", expiry_ns=None)


def ist(day: date, hh: int, mm: int) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm), tzinfo=IST))


def spec_for(day: date = DAY, **extra: Any) -> DaySpec:
    raw: dict[str, Any] = {
        "date": day.isoformat(),
        "tokenSecretRef": {"name": "upstox-token"},
        "replicas": {"ingestor": 2, "features": 1, "scanner": 1, "strategy": 3},
        "strategies": [{"id": "macross", "class": "quant.strategy.examples.ma_cross:MaCross"}],
    }
    raw.update(extra)
    return parse_spec(raw)


def token_valid_until(day: date) -> TokenObservation:
    return TokenObservation(present=True, checksum="tok1", expiry_ns=ist(day + timedelta(1), 3, 30))


class World:
    """A tiny simulated cluster: applies decisions like the reconciler does."""

    def __init__(self, spec: DaySpec, token: TokenObservation) -> None:
        self.spec = spec
        self.token = token
        self.jobs: list[JobObservation] = []
        self.backfill_jobs: list[JobObservation] = []
        self.status = DayStatus()
        self.replicas: dict[str, int] = {"ingestor": 0, "features": 0, "scanner": 0, "strategy": 0}
        self.phases: list[Phase] = []
        self.actions: list[object] = []
        self.job_outcome = JobState.SUCCEEDED

    def step(self, now_ns: int) -> Decision:
        obs = Observations(
            token=self.token,
            sync_jobs=tuple(self.jobs),
            token_request_configured=True,
            backfill_jobs=tuple(self.backfill_jobs),
        )
        d = next_phase(self.spec, self.status, now_ns, obs)
        for a in d.actions:
            self.actions.append(a)
            if isinstance(a, CreateSyncJob):
                self.jobs.append(JobObservation(f"job-{a.attempt}", a.attempt, JobState.ACTIVE))
            if isinstance(a, CreateBackfillJob):
                name = f"backfill-{a.attempt}"
                self.backfill_jobs.append(JobObservation(name, a.attempt, JobState.ACTIVE))
        published = self.status.kill_switch_published
        for a in d.actions:
            if isinstance(a, PublishKillSwitch):
                published = a.engaged
        if d.replicas is not None:
            self.replicas.update(d.replicas)
        if not self.phases or self.phases[-1] is not d.phase:
            self.phases.append(d.phase)
        self.status = DayStatus(d.phase, published, d.token_requested_ns)
        return d

    def finish_jobs(self, now_ns: int, outcome: JobState | None = None) -> None:
        def done(jobs: list[JobObservation]) -> list[JobObservation]:
            state = outcome or self.job_outcome
            return [
                JobObservation(j.name, j.attempt, state, now_ns, "boom")
                if j.state is JobState.ACTIVE
                else j
                for j in jobs
            ]

        self.jobs = done(self.jobs)
        self.backfill_jobs = done(self.backfill_jobs)

    def walk(self, start: int, end: int, step_s: int = 60) -> None:
        now = start
        while now <= end:
            self.step(now)
            self.finish_jobs(now)
            now += step_s * NS_PER_SECOND


def test_a_normal_day_walks_every_phase_in_order_and_scales_per_phase() -> None:
    w = World(spec_for(), token_valid_until(DAY))
    w.step(ist(DAY, 7, 0))
    assert w.phases == [Phase.PENDING]
    assert w.replicas["ingestor"] == 0
    w.walk(ist(DAY, 8, 15), ist(DAY, 9, 0) - 1)
    assert w.phases[-1] is Phase.SYNCING
    assert [a for a in w.actions if isinstance(a, CreateSyncJob)] == [CreateSyncJob(1)]
    w.step(ist(DAY, 9, 1))
    assert w.phases[-1] is Phase.PRE_OPEN
    # spec.replicas.strategy is 3, but each strategy pod runs every strategy: one at most
    assert w.replicas == {"ingestor": 2, "features": 1, "scanner": 1, "strategy": 1}
    w.step(ist(DAY, 9, 15))
    assert w.phases[-1] is Phase.TRADING
    w.step(ist(DAY, 15, 31))
    assert w.phases[-1] is Phase.CLOSING
    assert w.replicas["strategy"] == 0 and w.replicas["ingestor"] == 2
    w.step(ist(DAY, 15, 40))  # close + spec.backfill.startDelayMinutes: the backfill Job
    assert [a for a in w.actions if isinstance(a, CreateBackfillJob)] == [CreateBackfillJob(1)]
    w.finish_jobs(ist(DAY, 15, 55))
    w.step(ist(DAY, 16, 0))
    assert w.phases == [
        Phase.PENDING,
        Phase.SYNCING,
        Phase.PRE_OPEN,
        Phase.TRADING,
        Phase.CLOSING,
        Phase.CLOSED,
    ]
    assert set(w.replicas.values()) == {0}
    # A closed day stays closed and never touches replicas again.
    later = w.step(ist(DAY, 18, 0))
    assert later.phase is Phase.CLOSED and later.replicas is None


def test_the_sync_job_is_requested_once_per_attempt_while_it_runs() -> None:
    w = World(spec_for(), token_valid_until(DAY))
    for minute in range(20, 30):
        w.step(ist(DAY, 8, minute))  # the job stays Active: never finish it
    assert [a for a in w.actions if isinstance(a, CreateSyncJob)] == [CreateSyncJob(1)]
    assert w.phases[-1] is Phase.SYNCING
    assert set(w.replicas.values()) == {0}


def test_a_failing_sync_retries_with_backoff_then_fails_the_day() -> None:
    w = World(spec_for(instrumentSync={"maxAttempts": 3}), token_valid_until(DAY))
    w.job_outcome = JobState.FAILED
    w.walk(ist(DAY, 8, 15), ist(DAY, 8, 40), step_s=10)
    creates = [a.attempt for a in w.actions if isinstance(a, CreateSyncJob)]
    assert creates == [1, 2, 3]
    assert w.phases[-1] is Phase.FAILED
    d = w.step(ist(DAY, 8, 41))
    assert d.phase is Phase.FAILED and d.hold and d.replicas is None


def test_failure_reports_instruments_synced_false_with_the_reason() -> None:
    spec = spec_for(instrumentSync={"maxAttempts": 1})
    jobs = (JobObservation("j-1", 1, JobState.FAILED, ist(DAY, 8, 20), "BackoffLimitExceeded"),)
    d = next_phase(spec, DayStatus(Phase.SYNCING), ist(DAY, 8, 21), Observations(GOOD_TOKEN, jobs))
    assert d.phase is Phase.FAILED
    cond = {c.type: c for c in d.conditions}["InstrumentsSynced"]
    assert cond.status is False and "BackoffLimitExceeded" in cond.message
    assert d.replicas is not None and set(d.replicas.values()) == {0}


def test_retry_waits_for_the_backoff_delay() -> None:
    spec = spec_for()
    failed_at = ist(DAY, 8, 20)
    jobs = (JobObservation("j-1", 1, JobState.FAILED, failed_at, "x"),)
    soon = next_phase(
        spec,
        DayStatus(Phase.SYNCING),
        failed_at + 5 * NS_PER_SECOND,
        Observations(GOOD_TOKEN, jobs),
    )
    assert not [a for a in soon.actions if isinstance(a, CreateSyncJob)]
    assert 20 <= soon.requeue_after_s <= 30
    due = next_phase(
        spec,
        DayStatus(Phase.SYNCING),
        failed_at + 31 * NS_PER_SECOND,
        Observations(GOOD_TOKEN, jobs),
    )
    assert CreateSyncJob(2) in due.actions


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 11, 24), "Guru Nanak"),
        (date(2026, 1, 26), "Republic Day"),
        (date(2026, 11, 28), "weekend (Saturday)"),
        (date(2026, 11, 29), "weekend (Sunday)"),
    ],
)
def test_a_holiday_or_weekend_is_holiday_and_scales_nothing(day: date, why: str) -> None:
    w = World(spec_for(day), token_valid_until(day))
    w.walk(ist(day, 7, 0), ist(day, 17, 0), step_s=600)
    assert w.phases == [Phase.HOLIDAY]
    assert not [a for a in w.actions if isinstance(a, CreateSyncJob)]
    d = w.step(ist(day, 10, 0))
    assert d.replicas is None
    assert why in d.message


def test_schedule_holiday_closes_a_normal_day() -> None:
    d = next_phase(
        spec_for(schedule={"holiday": True}), DayStatus(), ist(DAY, 10, 0), Observations(GOOD_TOKEN)
    )
    assert d.phase is Phase.HOLIDAY and "spec.schedule.holiday" in d.message


def test_muhurat_special_session_trades_in_the_evening() -> None:
    day = date(2025, 10, 21)  # Diwali Laxmi Pujan: holiday with a Muhurat session
    w = World(spec_for(day), token_valid_until(day))
    w.step(ist(day, 10, 0))
    assert w.phases == [Phase.PENDING]  # normal hours are closed
    w.walk(ist(day, 12, 45), ist(day, 13, 29))
    w.step(ist(day, 13, 31))
    assert w.phases[-1] is Phase.PRE_OPEN
    w.step(ist(day, 13, 50))
    assert w.phases[-1] is Phase.TRADING
    w.step(ist(day, 14, 50))
    assert w.phases[-1] is Phase.CLOSING
    w.step(ist(day, 15, 6))  # the backfill Job starts; the day waits for it
    assert w.phases[-1] is Phase.CLOSING
    w.finish_jobs(ist(day, 15, 6))
    w.step(ist(day, 15, 7))
    assert w.phases[-1] is Phase.CLOSED


def test_spec_special_session_opens_a_weekend_with_its_own_times() -> None:
    day = date(2026, 11, 28)  # Saturday
    spec = spec_for(
        day,
        schedule={
            "specialSession": True,
            "preOpenStart": "11:00",
            "preOpenEnd": "11:08",
            "marketOpen": "11:15",
            "marketClose": "12:15",
            "closingStart": "12:20",
            "closingEnd": "12:30",
        },
    )
    w = World(spec, token_valid_until(day))
    w.walk(ist(day, 10, 15), ist(day, 12, 31))
    assert w.phases == [
        Phase.SYNCING,
        Phase.PRE_OPEN,
        Phase.TRADING,
        Phase.CLOSING,
        Phase.CLOSED,
    ]


def test_an_expired_token_holds_the_day_in_authenticating_and_requests_a_new_one() -> None:
    expired = TokenObservation(present=True, checksum="old", expiry_ns=ist(DAY, 3, 30))
    w = World(spec_for(), expired)
    w.walk(ist(DAY, 8, 15), ist(DAY, 8, 40))
    assert w.phases == [Phase.AUTHENTICATING]
    requests = [a for a in w.actions if isinstance(a, RequestToken)]
    assert len(requests) == 3  # 08:15, 08:25, 08:35: once per retry interval
    assert not [a for a in w.actions if isinstance(a, CreateSyncJob)]
    d = w.step(ist(DAY, 8, 41))
    cond = {c.type: c for c in d.conditions}["TokenValid"]
    assert cond.status is False
    assert "expired" in cond.message and "quant auth login" in cond.message
    # The user runs `quant auth login`: the secret holds a fresh token.
    w.token = token_valid_until(DAY)
    w.walk(ist(DAY, 8, 42), ist(DAY, 9, 16))
    assert w.phases == [Phase.AUTHENTICATING, Phase.SYNCING, Phase.PRE_OPEN, Phase.TRADING]


def test_a_missing_token_without_token_request_says_how_to_fix_it() -> None:
    obs = Observations(TokenObservation(present=False))
    d = next_phase(spec_for(), DayStatus(), ist(DAY, 8, 30), obs)
    assert d.phase is Phase.AUTHENTICATING
    assert not [a for a in d.actions if isinstance(a, RequestToken)]
    assert (
        "missing" in d.message and "quant auth login" in d.message and "upstox-token" in d.message
    )


def test_a_day_still_authenticating_at_the_end_fails_clearly() -> None:
    obs = Observations(TokenObservation(present=False))
    d = next_phase(spec_for(), DayStatus(Phase.AUTHENTICATING), ist(DAY, 16, 5), obs)
    assert d.phase is Phase.FAILED
    assert {c.type: c for c in d.conditions}["Ready"].reason == "TokenUnavailable"


def test_kill_switch_scales_strategy_to_zero_and_publishes_once() -> None:
    w = World(spec_for(), token_valid_until(DAY))
    w.walk(ist(DAY, 8, 15), ist(DAY, 9, 20))
    assert w.replicas["strategy"] == 1
    w.spec = spec_for(killSwitch=True, killSwitchAction="flatten")
    w.step(ist(DAY, 9, 21))
    w.step(ist(DAY, 9, 22))
    pubs = [a for a in w.actions if isinstance(a, PublishKillSwitch)]
    assert pubs == [PublishKillSwitch(True, True, pubs[0].reason)]
    assert w.replicas["strategy"] == 0 and w.replicas["ingestor"] == 2
    assert w.phases[-1] is Phase.TRADING
    # Released: strategy returns and a release event is published.
    w.spec = spec_for()
    w.step(ist(DAY, 9, 30))
    pubs = [a for a in w.actions if isinstance(a, PublishKillSwitch)]
    assert [p.engaged for p in pubs] == [True, False]
    assert w.replicas["strategy"] == 1


def test_a_day_without_strategies_keeps_the_strategy_at_zero() -> None:
    w = World(spec_for(strategies=[]), token_valid_until(DAY))
    w.walk(ist(DAY, 8, 15), ist(DAY, 9, 20))
    assert w.phases[-1] is Phase.TRADING
    assert w.replicas == {"ingestor": 2, "features": 1, "scanner": 1, "strategy": 0}


def test_a_changed_token_rolls_the_deployments_that_use_it() -> None:
    deps = (
        DeploymentObservation("ingestor", "ingestor", 1, token_checksum="old", uses_token=True),
        DeploymentObservation("scanner", "scanner", 1, token_checksum=None, uses_token=False),
        DeploymentObservation("gateway", "gateway", 1, token_checksum="new", uses_token=True),
    )
    obs = Observations(TokenObservation(True, "new", None), deployments=deps)
    d = next_phase(spec_for(), DayStatus(Phase.TRADING), ist(DAY, 10, 0), obs)
    assert [a for a in d.actions if isinstance(a, RollDeployment)] == [
        RollDeployment("ingestor", "new")
    ]


def test_a_day_created_after_it_ended_is_closed_and_touches_nothing() -> None:
    d = next_phase(spec_for(), DayStatus(), ist(DAY, 20, 0), Observations(GOOD_TOKEN))
    assert d.phase is Phase.CLOSED and d.replicas is None and not d.actions


def test_resuming_mid_day_with_a_finished_job_goes_straight_on() -> None:
    jobs = (JobObservation("j-1", 1, JobState.SUCCEEDED, ist(DAY, 8, 20)),)
    d = next_phase(
        spec_for(), DayStatus(Phase.PRE_OPEN), ist(DAY, 11, 0), Observations(GOOD_TOKEN, jobs)
    )
    assert d.phase is Phase.TRADING
    assert not [a for a in d.actions if isinstance(a, CreateSyncJob)]


def test_phases_never_move_backwards() -> None:
    jobs = (JobObservation("j-1", 1, JobState.SUCCEEDED, ist(DAY, 8, 20)),)
    d = next_phase(
        spec_for(), DayStatus(Phase.TRADING), ist(DAY, 9, 5), Observations(GOOD_TOKEN, jobs)
    )
    assert d.phase is Phase.TRADING


def test_requeue_points_at_the_next_boundary() -> None:
    jobs = (JobObservation("j-1", 1, JobState.SUCCEEDED, ist(DAY, 8, 20)),)
    d = next_phase(
        spec_for(),
        DayStatus(Phase.SYNCING),
        ist(
            DAY,
            8,
            59,
        )
        + 30 * NS_PER_SECOND,
        Observations(GOOD_TOKEN, jobs),
    )
    assert d.phase is Phase.SYNCING and d.requeue_after_s == pytest.approx(30.0)
