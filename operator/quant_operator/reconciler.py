"""One reconcile of a TradingDay: observe the cluster, ask the phase machine, apply.

Called by the kopf handlers (``quant_operator.handlers``) on create/update/resume and
periodically by the day's daemon, always under a per-object lock. Every step is
idempotent: Jobs have deterministic names (a 409 means done), scaling and annotations
are merge patches to a target value, and the status records what was applied, so a
restart simply reconciles again. Errors propagate as :class:`ReconcileError` (or the
port's own exceptions); the handlers decide retry versus failure. The execution
Deployment is tended apart from the scaled services (:mod:`quant_operator.execution`):
never above one replica, and the active day's mode and risk limits on its container,
reported as the ``ExecutionConfigured`` condition. The strategy Deployment gets the day's
``spec.strategies`` (:mod:`quant_operator.strategies`) before it is scaled up, reported as
the ``StrategiesConfigured`` condition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from quant_operator import backfill, builders, execution, strategies
from quant_operator.builders import DayRef
from quant_operator.control import ControlPublisher
from quant_operator.kube import (
    KubeApi,
    KubeError,
    configmap_path,
    deployments_path,
    jobs_path,
    tradingday_path,
)
from quant_operator.observe import observe, phase_of, ts_ns
from quant_operator.phases import (
    ACTIVE,
    TERMINAL,
    Condition,
    CreateBackfillJob,
    CreateSyncJob,
    DayStatus,
    Decision,
    Phase,
    PublishKillSwitch,
    RequestToken,
    RollDeployment,
    next_phase,
)
from quant_operator.spec import (
    EXECUTION,
    GATEWAY,
    SCALED_COMPONENTS,
    DaySpec,
    SpecError,
    parse_spec,
)
from quant_operator.timesource import TimeSource
from quant_operator.upstox_token import TokenRequester, TokenRequestError

log = logging.getLogger(__name__)


class ReconcileError(Exception):
    """A reconcile could not complete; retry later."""


class EventSink(Protocol):
    """Kubernetes Events on the TradingDay (kopf's posting in production)."""

    def info(self, reason: str, message: str) -> None: ...
    def warn(self, reason: str, message: str) -> None: ...


@dataclass(frozen=True)
class Ports:
    kube: KubeApi
    time: TimeSource
    control: ControlPublisher
    tokens: TokenRequester | None
    sync_image: str
    sync_service_account: str | None = None
    sync_env_configmap: str | None = None
    #: Job finish times are wall-clock; they are comparable to "now" only on a real clock.
    real_time: bool = True
    #: ``--universe`` of the end-of-day backfill for a day without ``spec.universe``
    #: ("" = no default: such a day skips the backfill).
    backfill_universe: str = ""
    #: Secret-backed env of the backfill Job (names and keys only, from the chart).
    job_secret_env: tuple[Mapping[str, Any], ...] = ()
    #: The token Secret a day without ``spec.tokenSecretRef`` mounts into the Job.
    token_secret: str | None = None
    token_key: str = "access_token"  # noqa: S105 - a key name


@dataclass(frozen=True)
class Outcome:
    phase: Phase
    previous: str | None
    decision: Decision | None
    now_ns: int


def managed(deployments: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Scalable Deployment names per component (never the gateway)."""
    out: dict[str, list[str]] = {}
    for d in deployments:
        labels = d["metadata"].get("labels") or {}
        component = labels.get(builders.LABEL_COMPONENT)
        if labels.get(builders.LABEL_MANAGED) != "true" or component == GATEWAY:
            continue
        if component in SCALED_COMPONENTS:
            out.setdefault(component, []).append(d["metadata"]["name"])
    return out


async def scale(
    kube: KubeApi, namespace: str, deployments: list[dict[str, Any]], wanted: Mapping[str, int]
) -> list[str]:
    """Patch replicas where they differ; returns ``name=n`` for each change."""
    current = {d["metadata"]["name"]: (d.get("spec") or {}).get("replicas") for d in deployments}
    todo = [
        (name, wanted[component])
        for component, names in managed(deployments).items()
        if component in wanted
        for name in names
        if current.get(name) != wanted[component]
    ]
    try:
        async with asyncio.TaskGroup() as tg:
            for name, n in todo:
                path = deployments_path(namespace, name)
                tg.create_task(kube.patch(path, builders.scale_patch(n)))
    except ExceptionGroup as eg:
        raise eg.exceptions[0] from eg
    return [f"{name}={n}" for name, n in todo]


async def tend_execution(
    kube: KubeApi,
    namespace: str,
    deployments: list[dict[str, Any]],
    spec: DaySpec,
    decision: Decision,
    events: EventSink,
) -> Condition | None:
    """The execution Deployment: at most one replica (one while active), the day's settings.

    A count above one is brought down before anything else; the day's mode and limits are
    patched onto the container before a scale-up, so the pod starts with them. Returns the
    ``ExecutionConfigured`` condition (``None`` when there is nothing to report). A failed
    patch is reported, not raised: the kill switch and the status still go through, and
    the next reconcile tries again.
    """
    active = execution.applies(decision.phase, decision.hold)
    found = [d for d in deployments if execution.is_execution(d, builders.LABEL_COMPONENT)]
    if not found:
        if not active:
            return None
        msg = (
            f"no Deployment labelled {builders.LABEL_COMPONENT}={EXECUTION}: "
            "no orders can be placed or squared off"
        )
        return Condition("ExecutionConfigured", False, "NotFound", msg)
    try:
        done = [await _tend_one(kube, namespace, d, spec, decision, events, active) for d in found]
    except KubeError as e:
        events.warn("ExecutionNotConfigured", str(e))
        return Condition("ExecutionConfigured", False, "PatchFailed", str(e))
    if not active:
        return None
    return Condition("ExecutionConfigured", True, "Applied", "; ".join(done))


async def _tend_one(
    kube: KubeApi,
    namespace: str,
    deployment: Mapping[str, Any],
    spec: DaySpec,
    decision: Decision,
    events: EventSink,
    active: bool,
) -> str:
    name = deployment["metadata"]["name"]
    path = deployments_path(namespace, name)
    current = int((deployment.get("spec") or {}).get("replicas", 1))
    wanted = execution.wanted_replicas(decision.phase, current)
    if wanted is not None and wanted < current:
        await kube.patch(path, builders.scale_patch(wanted))
        events.warn(
            "ExecutionScaled",
            f"{name} had {current} replicas: back to {wanted} (the single execution point)",
        )
    if active:
        patch = execution.env_patch(deployment, spec)
        if patch is not None:
            await kube.patch(path, patch, strategic=True)
            events.info("ExecutionConfigured", f"{name} restarts with {execution.describe(spec)}")
    if wanted is not None and wanted > current:
        await kube.patch(path, builders.scale_patch(wanted))
        events.info("ExecutionScaled", f"{decision.phase.value}: {name}={wanted}")
    replicas = wanted if wanted is not None else current
    return f"{name}: {replicas} replica, {execution.describe(spec)}"


def _strategy_wanted(decision: Decision) -> bool:
    """Whether this decision runs the strategy Deployment (so its config must be written)."""
    if not execution.applies(decision.phase, decision.hold):
        return False
    return decision.replicas is None or decision.replicas.get(strategies.COMPONENT, 0) > 0


async def tend_strategies(
    kube: KubeApi,
    day: DayRef,
    deployments: list[dict[str, Any]],
    spec: DaySpec,
    decision: Decision,
    events: EventSink,
) -> Condition | None:
    """Write the day's strategies where the strategy Deployment reads them.

    Runs before the scale-up, so the strategy pods start with the day's strategies. Only
    while the day is active: with no strategies the condition says why the Deployment
    stays at 0; with the strategy held at 0 (kill switch, Closing) nothing is written.
    Returns ``StrategiesConfigured`` (``None``: nothing to report); a failure is reported,
    not raised (``reason`` ``PatchFailed``/``NoConfigVolume``/``NotFound``: the scale-up
    waits, see :func:`hold_strategy`).
    """
    cond = "StrategiesConfigured"
    if not execution.applies(decision.phase, decision.hold):
        return None
    if not spec.strategies:
        msg = "spec.strategies is empty: the strategy Deployment stays at 0 replicas"
        return Condition(cond, False, "NoStrategies", msg)
    if not _strategy_wanted(decision):
        return None
    found = [
        d
        for d in deployments
        if strategies.is_strategy(d)
        and (d["metadata"].get("labels") or {}).get(builders.LABEL_MANAGED) == "true"
    ]
    if not found:
        msg = f"no Deployment labelled {builders.LABEL_COMPONENT}={strategies.COMPONENT}"
        return Condition(cond, False, "NotFound", msg)
    text = strategies.config_yaml(spec)
    digest = strategies.checksum(text)
    done: list[str] = []
    try:
        for d in found:
            name = d["metadata"]["name"]
            cm = strategies.configmap_name(d)
            if cm is None:
                msg = (
                    f"Deployment {name} mounts no ConfigMap volume {strategies.VOLUME!r}: "
                    "it cannot read spec.strategies (install it with the chart)"
                )
                events.warn("StrategiesNotConfigured", msg)
                return Condition(cond, False, "NoConfigVolume", msg)
            await _write_configmap(kube, day, cm, text, events)
            if strategies.config_checksum(d) != digest:
                path = deployments_path(day.namespace, name)
                await kube.patch(path, strategies.checksum_patch(digest))
                events.info(
                    "StrategiesConfigured", f"{name} restarts with {strategies.describe(spec)}"
                )
            done.append(f"{name} reads ConfigMap {cm}")
    except KubeError as e:
        events.warn("StrategiesNotConfigured", str(e))
        return Condition(cond, False, "PatchFailed", str(e))
    return Condition(cond, True, "Applied", f"{'; '.join(done)}: {strategies.describe(spec)}")


async def _write_configmap(
    kube: KubeApi, day: DayRef, name: str, text: str, events: EventSink
) -> None:
    path = configmap_path(day.namespace, name)
    current = await kube.get(path)
    if current is None:
        created = await kube.create(
            configmap_path(day.namespace),
            strategies.build_configmap(day, name, text),
        )
        if created is not None:
            events.info("StrategiesConfigured", f"created ConfigMap {name}")
            return
        current = await kube.get(path)  # created meanwhile: patch it
        if current is None:
            raise KubeError(409, f"ConfigMap {name} exists but cannot be read")
    patch = strategies.configmap_patch(current, day, text)
    if patch is not None:
        await kube.patch(path, patch)
        events.info("StrategiesConfigured", f"wrote ConfigMap {name}")


def hold_strategy(wanted: Mapping[str, int], tended: Condition | None) -> dict[str, int]:
    """``wanted`` without a scale-up of the strategy when its config could not be written."""
    out = dict(wanted)
    failed = tended is not None and not tended.status and tended.reason != "NoStrategies"
    if failed and out.get(strategies.COMPONENT, 0) > 0:
        del out[strategies.COMPONENT]  # leave it as it is; the next reconcile tries again
    return out


async def _apply_actions(
    ports: Ports,
    day: DayRef,
    spec: DaySpec,
    decision: Decision,
    now_ns: int,
    events: EventSink,
) -> bool | None:
    """Run the decision's actions; returns the kill-switch state now applied (if changed)."""
    applied_ks: bool | None = None
    for action in decision.actions:
        if isinstance(action, CreateSyncJob):
            job = builders.build_sync_job(
                day,
                spec,
                action.attempt,
                image=ports.sync_image,
                service_account=ports.sync_service_account,
                env_from_configmap=ports.sync_env_configmap,
            )
            created = await ports.kube.create(jobs_path(day.namespace), job)
            if created is not None:
                events.info("SyncJobCreated", f"created Job {job['metadata']['name']}")
        elif isinstance(action, CreateBackfillJob):
            job = backfill.build_backfill_job(
                day,
                spec,
                action.attempt,
                image=ports.sync_image,
                default_universe=ports.backfill_universe,
                token_secret=ports.token_secret,
                token_key=ports.token_key,
                env_from_configmap=ports.sync_env_configmap,
                secret_env=ports.job_secret_env,
            )
            created = await ports.kube.create(jobs_path(day.namespace), job)
            if created is not None:
                events.info("BackfillJobCreated", f"created Job {job['metadata']['name']}")
        elif isinstance(action, RollDeployment):
            await ports.kube.patch(
                deployments_path(day.namespace, action.name),
                builders.checksum_patch(action.checksum),
            )
            events.info("TokenRotated", f"rolled Deployment {action.name} for the new token")
        elif isinstance(action, PublishKillSwitch):
            await ports.control.publish(
                builders.kill_switch_event(
                    engaged=action.engaged,
                    flatten=action.flatten,
                    reason=action.reason,
                    trading_day=spec.date.isoformat(),
                    ts_event_ns=now_ns,
                )
            )
            applied_ks = action.engaged
            state = "engaged" if action.engaged else "released"
            events.warn("KillSwitch", f"kill switch {state}; published on control.commands")
        elif isinstance(action, RequestToken) and ports.tokens is not None:
            stamp = {builders.ANNOTATION_TOKEN_REQUESTED: builders.iso(now_ns)}
            await ports.kube.patch(
                tradingday_path(day.namespace, day.name), {"metadata": {"annotations": stamp}}
            )
            try:
                events.info("TokenRequested", await ports.tokens.request_token())
            except TokenRequestError as e:
                events.warn("TokenRequestFailed", str(e))
                if e.retryable:
                    raise ReconcileError(str(e)) from e
    return applied_ks


def _day_status(body: Mapping[str, Any], spec_valid: bool) -> DayStatus:
    status = body.get("status") or {}
    phase = phase_of(status.get("phase"))
    conditions = {c.get("type"): c for c in status.get("conditions") or ()}
    if (
        phase is Phase.FAILED
        and spec_valid
        and (conditions.get("SpecValid") or {}).get("status") == "False"
    ):
        phase = None  # the spec was fixed: start the day again
    ks = status.get("killSwitch")
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return DayStatus(
        phase=phase,
        kill_switch_published=ks if isinstance(ks, bool) else None,
        token_requested_ns=ts_ns(annotations.get(builders.ANNOTATION_TOKEN_REQUESTED)),
    )


async def reconcile(ports: Ports, namespace: str, name: str, events: EventSink) -> Outcome | None:
    """Reconcile the named TradingDay once; ``None`` if it no longer exists."""
    body = await ports.kube.get(tradingday_path(namespace, name))
    if body is None:
        return None
    meta = body["metadata"]
    day = DayRef(name, namespace, meta["uid"])
    generation = int(meta.get("generation", 0))
    previous = dict(body.get("status") or {})
    now = await ports.time.now_ns(namespace)
    try:
        spec = parse_spec(body.get("spec") or {})
    except SpecError as e:
        await _record_invalid(ports, day, previous, generation, now, str(e), events)
        raise
    status = _day_status(body, True)
    obs, deployments = await observe(
        ports.kube,
        day,
        spec,
        real_time=ports.real_time,
        token_request=ports.tokens is not None,
        backfill_universe=bool(ports.backfill_universe) or bool(spec.universe.entries()),
        day_over=status.phase in TERMINAL,
    )
    decision = next_phase(spec, status, now, obs)
    valid = Condition("SpecValid", True, "Valid", "spec is valid")
    decision = replace(decision, conditions=(*decision.conditions, valid))
    # The strategies are written before the strategy scales up (nothing when it is held at
    # 0); then scale, before the control topic: a kill switch halts the strategy even if
    # the control topic is down.
    configured = await tend_strategies(ports.kube, day, deployments, spec, decision, events)
    if configured is not None:
        decision = replace(decision, conditions=(*decision.conditions, configured))
    if decision.replicas is not None:
        wanted = hold_strategy(decision.replicas, configured)
        changed = await scale(ports.kube, namespace, deployments, wanted)
        if changed:
            events.info("Scaled", f"{decision.phase.value}: " + ", ".join(changed))
    tended = await tend_execution(ports.kube, namespace, deployments, spec, decision, events)
    if tended is not None:
        decision = replace(decision, conditions=(*decision.conditions, tended))
    applied_ks = await _apply_actions(ports, day, spec, decision, now, events)
    if decision.hold:
        patch: dict[str, Any] = {"status": {"observedGeneration": generation}}
        if applied_ks is not None:
            patch["status"]["killSwitch"] = applied_ks
    else:
        ks = applied_ks if applied_ks is not None else previous.get("killSwitch")
        patch = builders.status_patch(
            decision,
            previous_status=previous,
            generation=generation,
            now_ns=now,
            kill_switch_applied=ks if isinstance(ks, bool) else None,
        )
    await ports.kube.patch(tradingday_path(namespace, name, status=True), patch)
    before = previous.get("phase")
    if before != decision.phase.value:
        msg = f"{before or '(new)'} -> {decision.phase.value}: {decision.message}"
        if decision.phase is Phase.FAILED:
            events.warn("PhaseChanged", msg)
        else:
            events.info("PhaseChanged", msg)
        log.info("TradingDay %s/%s %s", namespace, name, msg)
    return Outcome(decision.phase, before, decision, now)


def _spec_valid(ok: bool, message: str, now_ns: int, generation: int) -> dict[str, Any]:
    return {
        "type": "SpecValid",
        "status": "True" if ok else "False",
        "reason": "Valid" if ok else "Invalid",
        "message": message[:4096],
        "lastTransitionTime": builders.iso(now_ns),
        "observedGeneration": generation,
    }


async def _record_invalid(
    ports: Ports,
    day: DayRef,
    previous: Mapping[str, Any],
    generation: int,
    now_ns: int,
    message: str,
    events: EventSink,
) -> None:
    """Mark the day Failed with ``SpecValid=False`` naming the bad fields."""
    conditions = [c for c in previous.get("conditions") or () if c.get("type") != "SpecValid"]
    conditions.append(_spec_valid(False, message, now_ns, generation))
    status = {
        "phase": Phase.FAILED.value,
        "message": f"invalid spec: {message}"[:4096],
        "observedGeneration": generation,
        "conditions": conditions,
    }
    if previous.get("phase") != Phase.FAILED.value:
        status["phaseSince"] = builders.iso(now_ns)
    await ports.kube.patch(
        tradingday_path(day.namespace, day.name, status=True), {"status": status}
    )
    events.warn("InvalidSpec", message)


async def finalize(
    ports: Ports, namespace: str, body: Mapping[str, Any], events: EventSink
) -> None:
    """On deletion: scale the day's workloads down if the day was running them."""
    phase = phase_of((body.get("status") or {}).get("phase"))
    if phase not in ACTIVE:
        return
    deployments = await ports.kube.list(deployments_path(namespace), builders.LABEL_COMPONENT)
    changed = await scale(ports.kube, namespace, deployments, dict.fromkeys(SCALED_COMPONENTS, 0))
    if changed:
        events.info("ScaledDown", "TradingDay deleted: " + ", ".join(changed))
