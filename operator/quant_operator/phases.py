"""The TradingDay phase machine: a pure function from what is observed to what to do.

``Pending → Holiday | Authenticating → SyncingInstruments → PreOpen → Trading →
Closing → Closed``, plus ``Failed``. :func:`next_phase` takes the validated spec, the
last recorded status, the current time (UTC ns, from an injected clock) and the
observations the handlers gathered (token secret, sync Jobs, Deployments) and returns a
:class:`Decision`: the target phase, the replicas to apply (or ``None``: leave them
alone), the actions to take, the conditions to report and when to look again.
``quant_operator.reconciler`` applies it; no kopf, no I/O and no wall clock here.

End of day: in Closing the machine asks for the day's ``quant backfill`` Job
(``spec.backfill.startDelayMinutes`` after the close), retries a failed one up to
``maxAttempts`` and keeps the day in Closing after the closing session until the Job
has finished or ``waitMinutes`` have passed; the outcome is :class:`BackfillResult`
and the ``BackfillSucceeded`` condition.

Scaling rule: 0 while preparing and after the day (also while a finished session waits
for its backfill); the spec's replicas during PreOpen
and Trading; strategy 0 while the kill switch is engaged, during Closing and while
``spec.strategies`` is empty, and never above 1 (each strategy pod runs every strategy). The
gateway is never scaled; the execution Deployment is not scaled per phase either
(:mod:`quant_operator.execution` keeps it at one replica). A day in Pending, Holiday, or
one that ended before it started never touches replicas, so a TradingDay created in
advance cannot disturb today's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from quant.core.calendar import ExchangeCalendar, SessionBounds, calendar_for
from quant.core.clock import IST, NS_PER_SECOND, ns_to_datetime
from quant_operator.spec import SCALED_COMPONENTS, DaySpec

NS_PER_MINUTE = 60 * NS_PER_SECOND
#: Each strategy pod runs every listed strategy: a second one would send each order twice.
MAX_STRATEGY_REPLICAS = 1
#: A token that dies within this margin is treated as expired.
TOKEN_MARGIN_NS = 5 * NS_PER_MINUTE
#: Wait this long between two token requests (the user must approve each in the app).
TOKEN_REQUEST_RETRY_NS = 10 * NS_PER_MINUTE
#: First retry delay after a failed sync Job; doubles per attempt.
SYNC_RETRY_BASE_NS = 30 * NS_PER_SECOND
#: How often (seconds of day time) a running backfill Job is looked at.
BACKFILL_POLL_S = 10.0
#: Upper bound on the requeue delay (seconds of day time).
MAX_REQUEUE_S = 60.0


class Phase(StrEnum):
    PENDING = "Pending"
    HOLIDAY = "Holiday"
    AUTHENTICATING = "Authenticating"
    SYNCING = "SyncingInstruments"
    PRE_OPEN = "PreOpen"
    TRADING = "Trading"
    CLOSING = "Closing"
    CLOSED = "Closed"
    FAILED = "Failed"


ORDER: tuple[Phase, ...] = (
    Phase.PENDING,
    Phase.AUTHENTICATING,
    Phase.SYNCING,
    Phase.PRE_OPEN,
    Phase.TRADING,
    Phase.CLOSING,
    Phase.CLOSED,
)
TERMINAL = frozenset({Phase.HOLIDAY, Phase.CLOSED, Phase.FAILED})
#: Phases in which the day owns the workloads (and scales them down when it ends).
ACTIVE = frozenset(
    {Phase.AUTHENTICATING, Phase.SYNCING, Phase.PRE_OPEN, Phase.TRADING, Phase.CLOSING}
)


class JobState(StrEnum):
    ACTIVE = "Active"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class TokenObservation:
    present: bool
    checksum: str | None = None
    expiry_ns: int | None = None


@dataclass(frozen=True, slots=True)
class JobObservation:
    name: str
    attempt: int
    state: JobState
    finished_ns: int | None = None
    message: str = ""
    #: What the Job's pods reported (the backfill's termination-log summary), if anything.
    summary: str = ""
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class DeploymentObservation:
    name: str
    component: str
    replicas: int
    token_checksum: str | None = None
    uses_token: bool = False


@dataclass(frozen=True, slots=True)
class Observations:
    token: TokenObservation
    sync_jobs: tuple[JobObservation, ...] = ()
    deployments: tuple[DeploymentObservation, ...] = ()
    token_request_configured: bool = False
    backfill_jobs: tuple[JobObservation, ...] = ()
    #: A universe to backfill exists (spec.universe, or the operator's default).
    backfill_universe: bool = True


@dataclass(frozen=True, slots=True)
class DayStatus:
    """The part of ``status`` the machine reads back."""

    phase: Phase | None = None
    kill_switch_published: bool | None = None
    token_requested_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class CreateSyncJob:
    attempt: int


@dataclass(frozen=True, slots=True)
class CreateBackfillJob:
    attempt: int


@dataclass(frozen=True, slots=True)
class RequestToken:
    pass


@dataclass(frozen=True, slots=True)
class PublishKillSwitch:
    engaged: bool
    flatten: bool
    reason: str


@dataclass(frozen=True, slots=True)
class RollDeployment:
    name: str
    checksum: str


Action = CreateSyncJob | CreateBackfillJob | RequestToken | PublishKillSwitch | RollDeployment


@dataclass(frozen=True, slots=True)
class SyncResult:
    state: str  # NotStarted | Running | Succeeded | Retrying | Failed
    attempts: int
    job: str | None
    message: str


class BackfillState(StrEnum):
    """``status.backfill.state``."""

    PENDING = "Pending"  # not started yet, or waiting to retry
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"  # disabled, or no universe to backfill


@dataclass(frozen=True, slots=True)
class BackfillResult:
    state: BackfillState
    attempts: int
    job: str | None
    message: str
    #: When the Job finished (UTC ns on the day's clock), when the Job says so.
    finished_ns: int | None = None
    summary: str = ""
    counts: tuple[tuple[str, int], ...] = ()

    @property
    def finished(self) -> bool:
        return self.state in (BackfillState.SUCCEEDED, BackfillState.FAILED, BackfillState.SKIPPED)


@dataclass(frozen=True, slots=True)
class Decision:
    phase: Phase
    replicas: Mapping[str, int] | None
    actions: tuple[Action, ...]
    conditions: tuple[Condition, ...]
    requeue_after_s: float
    message: str
    sync: SyncResult
    token_expiry_ns: int | None = None
    kill_switch_engaged: bool = False
    token_requested_ns: int | None = None
    #: A finished day: keep the recorded message and conditions, change nothing.
    hold: bool = False
    #: The end-of-day backfill, once the day has reached Closing (else ``None``).
    backfill: BackfillResult | None = None


def _name(job: JobObservation | None) -> str:
    return job.name if job is not None else "(none)"


def _attempt(job: JobObservation | None) -> int:
    return job.attempt if job is not None else 0


def _why(job: JobObservation | None) -> str:
    return (job.message or "no reason given") if job is not None else "no Job"


def _with_summary(result: BackfillResult) -> str:
    return f"{result.message}: {result.summary}" if result.summary else result.message


def _ist(ns: int) -> str:
    return ns_to_datetime(ns, IST).strftime("%Y-%m-%d %H:%M IST")


def _later(a: Phase, b: Phase) -> Phase:
    return b if ORDER.index(b) > ORDER.index(a) else a


def _replicas_for(phase: Phase, spec: DaySpec) -> dict[str, int]:
    if phase not in (Phase.PRE_OPEN, Phase.TRADING, Phase.CLOSING):
        return dict.fromkeys(SCALED_COMPONENTS, 0)
    wanted = dict(spec.replicas.as_mapping())
    # every strategy pod runs every strategy: one at most, none without strategies
    wanted["strategy"] = min(wanted["strategy"], MAX_STRATEGY_REPLICAS)
    if phase is Phase.CLOSING or spec.kill_switch or not spec.strategies:
        wanted["strategy"] = 0
    return wanted


def _sync_state(spec: DaySpec, jobs: tuple[JobObservation, ...]) -> SyncResult:
    """Where the day's instrument sync stands, from the Jobs that exist."""
    if not jobs:
        return SyncResult("NotStarted", 0, None, "no sync Job yet")
    done = [j for j in jobs if j.state is JobState.SUCCEEDED]
    if done:
        return SyncResult("Succeeded", len(jobs), done[0].name, f"Job {done[0].name} succeeded")
    latest = max(jobs, key=lambda j: j.attempt)
    if latest.state is JobState.ACTIVE:
        return SyncResult("Running", latest.attempt, latest.name, f"Job {latest.name} running")
    if latest.attempt >= spec.instrument_sync.max_attempts:
        msg = f"instrument sync failed after {latest.attempt} attempt(s): {latest.message}".strip()
        return SyncResult("Failed", latest.attempt, latest.name, msg)
    return SyncResult("Retrying", latest.attempt, latest.name, f"Job {latest.name} failed")


def _sync_retry_due(latest: JobObservation, now_ns: int) -> int:
    """Instant (ns) at which the attempt after ``latest`` may start.

    Without a finish time on the day's clock (a simulated clock cannot date a Job's
    wall-clock condition), the retry is due at once; the Job's own ``backoffLimit``
    already spaced its pod retries.
    """
    if latest.finished_ns is None:
        return now_ns
    finished = latest.finished_ns
    return finished + SYNC_RETRY_BASE_NS * (1 << max(0, latest.attempt - 1))


def _backfill_state(
    spec: DaySpec, jobs: tuple[JobObservation, ...]
) -> tuple[str, JobObservation | None]:
    """(NotStarted | Running | Succeeded | Retrying | Failed, the Job that says so)."""
    if not jobs:
        return "NotStarted", None
    done = [j for j in jobs if j.state is JobState.SUCCEEDED]
    if done:
        return "Succeeded", done[0]
    latest = max(jobs, key=lambda j: j.attempt)
    if latest.state is JobState.ACTIVE:
        return "Running", latest
    if latest.attempt >= spec.backfill.max_attempts:
        return "Failed", latest
    return "Retrying", latest


def _backfill_result(
    state: BackfillState, job: JobObservation | None, message: str
) -> BackfillResult:
    if job is None:
        return BackfillResult(state, 0, None, message)
    return BackfillResult(
        state, job.attempt, job.name, message, job.finished_ns, job.summary, job.counts
    )


class _Draft:
    """Accumulates one decision's actions and conditions while the gates run."""

    def __init__(
        self, spec: DaySpec, status: DayStatus, now_ns: int, obs: Observations, sync: SyncResult
    ) -> None:
        self.spec, self.status, self.now, self.obs, self.sync = spec, status, now_ns, obs, sync
        self.actions: list[Action] = []
        self.conditions: list[Condition] = []
        self.requeue = MAX_REQUEUE_S
        self.token_requested = status.token_requested_ns
        self.backfill: BackfillResult | None = None

    def cond(self, type_: str, ok: bool, reason: str, message: str) -> None:
        self.conditions.append(Condition(type_, ok, reason, message))

    def done(
        self,
        phase: Phase,
        message: str,
        replicas: Mapping[str, int] | None,
        *,
        hold: bool = False,
    ) -> Decision:
        return Decision(
            hold=hold,
            phase=phase,
            replicas=None if replicas is None else MappingProxyType(dict(replicas)),
            actions=tuple(self.actions),
            conditions=tuple(self.conditions),
            requeue_after_s=max(0.0, min(self.requeue, MAX_REQUEUE_S)),
            message=message,
            sync=self.sync,
            token_expiry_ns=self.obs.token.expiry_ns,
            kill_switch_engaged=self.spec.kill_switch,
            token_requested_ns=self.token_requested,
            backfill=self.backfill,
        )

    def standing_actions(self) -> None:
        """Token rotation and the kill switch: handled whatever the phase."""
        token = self.obs.token
        if token.checksum is not None:
            self.actions.extend(
                RollDeployment(d.name, token.checksum)
                for d in self.obs.deployments
                if d.uses_token and d.token_checksum != token.checksum
            )
        engaged = self.spec.kill_switch
        flatten = self.spec.kill_switch_action == "flatten"
        published = self.status.kill_switch_published
        if (engaged and published is not True) or (not engaged and published is True):
            reason = f"spec.killSwitch={'true' if engaged else 'false'} on TradingDay"
            self.actions.append(PublishKillSwitch(engaged, flatten, reason))
        if engaged:
            how = "halt and flatten positions" if flatten else "halt"
            self.cond("KillSwitch", True, "Engaged", f"kill switch engaged ({how}): strategy at 0")
        else:
            self.cond("KillSwitch", False, "Released", "kill switch not engaged")

    def token_gate(self, phase: Phase) -> Decision | None:
        """Report the token; hold the day in Authenticating until it is valid."""
        token, now, ref = self.obs.token, self.now, self.spec.token_secret_ref
        if ref is None:
            self.cond("TokenValid", True, "NotRequired", "no spec.tokenSecretRef (paper mode)")
            return None
        if token.present and (token.expiry_ns is None or token.expiry_ns > now + TOKEN_MARGIN_NS):
            until = f" until {_ist(token.expiry_ns)}" if token.expiry_ns is not None else ""
            self.cond("TokenValid", True, "Valid", f"token valid{until}")
            return None
        state = "missing" if not token.present else f"expired at {_ist(token.expiry_ns or 0)}"
        if self.obs.token_request_configured:
            last = self.token_requested
            if last is None or now - last >= TOKEN_REQUEST_RETRY_NS:
                self.actions.append(RequestToken())
                self.token_requested = now
            how = (
                "requested a new token through the token-request flow (approve it in the "
                "Upstox app), or run `quant auth login`"
            )
        else:
            how = "run `quant auth login` to write a fresh token"
        msg = f"Upstox access token in secret {ref.name!r} (key {ref.key!r}) is {state}; {how}"
        self.cond("TokenValid", False, "Expired" if token.present else "Missing", msg)
        if ORDER.index(phase) > ORDER.index(Phase.AUTHENTICATING):
            return None
        self.requeue = 5.0
        return self.done(Phase.AUTHENTICATING, msg, _replicas_for(Phase.AUTHENTICATING, self.spec))

    def sync_gate(self, phase: Phase) -> Decision | None:
        """Run the day's instrument sync (with retries) before anything scales up."""
        sync = self.sync
        if ORDER.index(phase) > ORDER.index(Phase.SYNCING) or sync.state == "Succeeded":
            self.cond("InstrumentsSynced", True, "Succeeded", sync.message)
            return None
        if sync.state == "Failed":
            self.cond("InstrumentsSynced", False, "SyncFailed", sync.message)
            return self.done(Phase.FAILED, sync.message, _replicas_for(Phase.FAILED, self.spec))
        self.requeue = 2.0
        msg = sync.message
        if sync.state == "NotStarted":
            self.actions.append(CreateSyncJob(1))
            msg = "starting instrument sync (attempt 1)"
        elif sync.state == "Retrying":
            latest = max(self.obs.sync_jobs, key=lambda j: j.attempt)
            due = _sync_retry_due(latest, self.now)
            if self.now >= due:
                self.actions.append(CreateSyncJob(latest.attempt + 1))
                msg = f"retrying instrument sync (attempt {latest.attempt + 1})"
            else:
                self.requeue = (due - self.now) / NS_PER_SECOND
                msg = f"{sync.message}; retry at {_ist(due)}"
        self.cond("InstrumentsSynced", False, sync.state, msg)
        return self.done(Phase.SYNCING, msg, _replicas_for(Phase.SYNCING, self.spec))

    def backfill_step(self, bounds: SessionBounds) -> bool:
        """Run the end-of-day backfill (with retries); True while the day must wait for it.

        Called once the day is in Closing. The Job starts ``startDelayMinutes`` after the
        close; after the closing session the day waits for it until the deadline
        (``waitMinutes`` after the later of the session's end and the Job's start).
        """
        spec, now, bf = self.spec, self.now, self.spec.backfill
        if not bf.enabled or not self.obs.backfill_universe:
            why = (
                "spec.backfill.enabled is false"
                if not bf.enabled
                else "no universe: spec.universe is empty and the operator has no default"
            )
            self.backfill = BackfillResult(BackfillState.SKIPPED, 0, None, why)
            return False
        start = bounds.close + bf.start_delay_minutes * NS_PER_MINUTE
        deadline = max(start, bounds.closing_end) + bf.wait_minutes * NS_PER_MINUTE
        state, job = _backfill_state(spec, self.obs.backfill_jobs)
        waiting = True
        if state == "Succeeded":
            result = _backfill_result(BackfillState.SUCCEEDED, job, f"Job {_name(job)} succeeded")
            self.cond("BackfillSucceeded", True, "Succeeded", _with_summary(result))
            waiting = False
        elif state == "Failed":
            msg = f"end-of-day backfill failed after {_attempt(job)} attempt(s): {_why(job)}"
            result = _backfill_result(BackfillState.FAILED, job, msg)
            self.cond("BackfillSucceeded", False, "Failed", msg)
            waiting = False
        elif now >= deadline:
            where = {
                "Running": f"Job {_name(job)} still running",
                "Retrying": f"Job {_name(job)} failed, no retry in time",
            }.get(state, "never started")
            msg = f"end-of-day backfill timed out at {_ist(deadline)} ({where})"
            result = _backfill_result(BackfillState.FAILED, job, msg)
            self.cond("BackfillSucceeded", False, "TimedOut", msg)
            waiting = False
        elif now < start:
            msg = f"end-of-day backfill starts at {_ist(start)}"
            result = BackfillResult(BackfillState.PENDING, 0, None, msg)
            self.requeue = (start - now) / NS_PER_SECOND
            self.cond("BackfillSucceeded", False, "Pending", msg)
        elif state == "Running":
            msg = f"Job {_name(job)} running (attempt {_attempt(job)})"
            result = _backfill_result(BackfillState.RUNNING, job, msg)
            self.requeue = BACKFILL_POLL_S
            self.cond("BackfillSucceeded", False, "Running", msg)
        else:  # NotStarted or Retrying
            attempt = 1 if job is None else job.attempt + 1
            due = now if job is None else _sync_retry_due(job, now)
            if now >= due:
                self.actions.append(CreateBackfillJob(attempt))
                msg = f"starting the end-of-day backfill (attempt {attempt})"
                self.requeue = BACKFILL_POLL_S
            else:
                msg = f"Job {_name(job)} failed ({_why(job)}); retry at {_ist(due)}"
                self.requeue = (due - now) / NS_PER_SECOND
            result = _backfill_result(BackfillState.PENDING, job, msg)
            self.cond("BackfillSucceeded", False, "Pending", msg)
        self.backfill = result
        return waiting and now >= bounds.closing_end

    def after_session(self, phase: Phase, bounds: SessionBounds) -> Decision | None:
        """Past the closing session: wait in Closing for the backfill, if it still runs."""
        if phase not in (Phase.PRE_OPEN, Phase.TRADING, Phase.CLOSING):
            return None
        if not self.backfill_step(bounds):
            return None
        assert self.backfill is not None
        self.cond("MarketOpen", False, "SessionEnded", "the session is over")
        msg = (
            f"session ended at {_ist(bounds.closing_end)}; waiting for the end-of-day "
            f"backfill: {self.backfill.message}"
        )
        self.requeue = min(self.requeue, BACKFILL_POLL_S)
        return self.done(Phase.CLOSING, msg, _replicas_for(Phase.CLOSED, self.spec))

    def by_clock(self, phase: Phase, bounds: SessionBounds) -> Decision:
        """Ready: the session's timings decide the phase (never moving backwards)."""
        now = self.now
        if now < bounds.pre_open_start:
            target, nxt, what = Phase.SYNCING, bounds.pre_open_start, "pre-open"
        elif now < bounds.open:
            target, nxt, what = Phase.PRE_OPEN, bounds.open, "market open"
        elif now < bounds.close:
            target, nxt, what = Phase.TRADING, bounds.close, "market close"
        else:
            target, nxt, what = Phase.CLOSING, bounds.closing_end, "end of the closing session"
        target = _later(phase, target)
        self.requeue = (nxt - now) / NS_PER_SECOND
        if target is Phase.CLOSING:
            self.backfill_step(bounds)
            self.requeue = min(self.requeue, (nxt - now) / NS_PER_SECOND)
        open_now = target in (Phase.PRE_OPEN, Phase.TRADING, Phase.CLOSING)
        until = f"{target.value} until {what} at {_ist(nxt)}"
        self.cond("MarketOpen", open_now, target.value, until)
        msg = f"{target.value}; next: {what} at {_ist(nxt)}"
        return self.done(target, msg, _replicas_for(target, self.spec))


def next_phase(
    spec: DaySpec,
    status: DayStatus,
    now_ns: int,
    obs: Observations,
    calendar: ExchangeCalendar | None = None,
) -> Decision:
    """Decide the day's phase, replicas and actions at ``now_ns``."""
    cal = calendar if calendar is not None else calendar_for(spec.exchange)
    current = status.phase
    draft = _Draft(spec, status, now_ns, obs, _sync_state(spec, obs.sync_jobs))
    draft.standing_actions()

    # Holiday (calendar, or forced by the schedule) never scales anything.
    session = cal.session(spec.date)
    forced = spec.schedule.holiday
    if forced or (session is None and not spec.schedule.special_session):
        why = "closed by spec.schedule.holiday" if forced else cal.closed_reason(spec.date)
        draft.cond("MarketOpen", False, "Holiday", f"{spec.date}: {why}")
        return draft.done(Phase.HOLIDAY, f"{spec.exchange} is closed on {spec.date}: {why}", None)
    # Closed and Failed stay; only the transitions scale anything.
    if current is not None and current in TERMINAL:
        return draft.done(current, f"day is {current.value}", None, hold=True)

    times = spec.session_times(session.times) if session is not None else spec.session_times()
    bounds = times.bounds_ns(spec.date)
    prepare_ns = bounds.pre_open_start - spec.schedule.prepare_minutes * NS_PER_MINUTE

    # After the day: Closed (or Failed if it never got ready).
    if now_ns >= bounds.closing_end:
        if current in (Phase.AUTHENTICATING, Phase.SYNCING):
            reason = "TokenUnavailable" if current is Phase.AUTHENTICATING else "SyncIncomplete"
            msg = f"the session ended at {_ist(bounds.closing_end)} while still {current.value}"
            draft.cond("Ready", False, reason, msg)
            return draft.done(Phase.FAILED, msg, _replicas_for(Phase.FAILED, spec))
        waiting = draft.after_session(current or Phase.PENDING, bounds)
        if waiting is not None:
            return waiting
        draft.cond("MarketOpen", False, "SessionEnded", "the session is over")
        msg = f"session ended at {_ist(bounds.closing_end)}"
        down = _replicas_for(Phase.CLOSED, spec) if current in ACTIVE else None
        return draft.done(Phase.CLOSED, msg, down)

    # Before preparation starts: Pending, hands off the workloads.
    if now_ns < prepare_ns and current in (None, Phase.PENDING):
        draft.requeue = (prepare_ns - now_ns) / NS_PER_SECOND
        return draft.done(Phase.PENDING, f"preparation starts at {_ist(prepare_ns)}", None)

    phase = current if current is not None else Phase.PENDING
    held = draft.token_gate(phase) or draft.sync_gate(phase)
    return held if held is not None else draft.by_clock(phase, bounds)


def day_window_ns(spec: DaySpec, calendar: ExchangeCalendar | None = None) -> tuple[int, int]:
    """(start of preparation, end of the closing session) for ``spec`` in UTC ns."""
    cal = calendar if calendar is not None else calendar_for(spec.exchange)
    session = cal.session(spec.date)
    times = spec.session_times(session.times) if session is not None else spec.session_times()
    bounds = times.bounds_ns(spec.date)
    return bounds.pre_open_start - spec.schedule.prepare_minutes * NS_PER_MINUTE, bounds.closing_end
