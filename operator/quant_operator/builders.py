"""Pure builders of the manifests and patches the operator sends to the apiserver.

``quant_operator.reconciler`` calls these with a decision from the phase machine and
sends the results through the Kubernetes port; tests check them directly. Nothing here
does I/O or reads a clock: instants come in as UTC nanoseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from quant.core.clock import ns_to_datetime
from quant.core.control import KillSwitch
from quant_operator.phases import BackfillResult, Condition, Decision
from quant_operator.spec import DaySpec

GROUP = "trading.quant-platform.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "TradingDay"
PLURAL = "tradingdays"

LABEL_COMPONENT = "quant-platform.io/component"
LABEL_MANAGED = "quant-platform.io/managed-replicas"
LABEL_DAY = "quant-platform.io/trading-day"
LABEL_SYNC_DATE = "quant-platform.io/sync-date"
LABEL_ATTEMPT = "quant-platform.io/sync-attempt"
ANNOTATION_TOKEN_CHECKSUM = "quant-platform.io/token-checksum"  # noqa: S105 - a key name
ANNOTATION_TOKEN_REQUESTED = "quant-platform.io/token-requested-at"  # noqa: S105 - a key name
SYNC_COMPONENT = "instrument-sync"
_MAX_NAME = 63


@dataclass(frozen=True, slots=True)
class DayRef:
    """Identity of the TradingDay object that owns what the operator creates."""

    name: str
    namespace: str
    uid: str


def iso(ns: int) -> str:
    """RFC 3339 UTC timestamp (second precision) for status fields."""
    return ns_to_datetime(ns).strftime("%Y-%m-%dT%H:%M:%SZ")


def owner_reference(day: DayRef) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": day.name,
        "uid": day.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def job_name(day: DayRef, kind: str, spec: DaySpec, attempt: int) -> str:
    """Deterministic Job name per day, kind and attempt, so a restart never duplicates a Job.

    Names longer than a label value allows (63) keep a stable hash of the full name.
    """
    name = f"{day.name}-{kind}-{spec.date:%Y%m%d}-{attempt}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    suffix = f"-{kind}-{spec.date:%Y%m%d}-{attempt}-{digest}"
    return day.name[: _MAX_NAME - len(suffix)].rstrip("-.") + suffix


def sync_job_name(day: DayRef, spec: DaySpec, attempt: int) -> str:
    """``<day>-sync-<yyyymmdd>-<attempt>`` (see :func:`job_name`)."""
    return job_name(day, "sync", spec, attempt)


def sync_job_selector(day: DayRef, spec: DaySpec) -> str:
    """Label selector of the day's sync Jobs (all attempts)."""
    return f"{LABEL_DAY}={day.name},{LABEL_SYNC_DATE}={spec.date.isoformat()}"


def build_sync_job(
    day: DayRef,
    spec: DaySpec,
    attempt: int,
    *,
    image: str,
    service_account: str | None = None,
    env_from_configmap: str | None = None,
) -> dict[str, Any]:
    """The ``quant sync-instruments`` Job for one attempt of the day's instrument sync."""
    sync = spec.instrument_sync
    labels = {
        LABEL_DAY: day.name,
        LABEL_SYNC_DATE: spec.date.isoformat(),
        LABEL_ATTEMPT: str(attempt),
        LABEL_COMPONENT: SYNC_COMPONENT,
        "app.kubernetes.io/part-of": "quant-platform",
    }
    env: list[dict[str, Any]] = [
        {"name": "QUANT_TRADING_DAY", "value": spec.date.isoformat()},
        {"name": "QUANT_EXCHANGE", "value": spec.exchange},
    ]
    # No Upstox token here: the instrument master is a public download, and the services'
    # settings reject unknown QUANT_UPSTOX__* keys (the token reaches services as a file).
    container: dict[str, Any] = {
        "name": "sync-instruments",
        "image": sync.image or image,
        "command": ["quant", "sync-instruments"],
        "env": env,
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - pod's own emptyDir
    }
    if env_from_configmap:
        container["envFrom"] = [{"configMapRef": {"name": env_from_configmap, "optional": True}}]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": sync_job_name(day, spec, attempt),
            "namespace": day.namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(day)],
        },
        "spec": {
            "backoffLimit": sync.backoff_limit,
            "activeDeadlineSeconds": sync.active_deadline_seconds,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def scale_patch(replicas: int) -> dict[str, Any]:
    """Merge patch setting a Deployment's replicas."""
    return {"spec": {"replicas": replicas}}


def token_checksum(token: str) -> str:
    """SHA-256 of the token: goes in a pod template annotation, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def checksum_patch(checksum: str) -> dict[str, Any]:
    """Merge patch of the pod template annotation that rolls pods when the token changes."""
    return {
        "spec": {"template": {"metadata": {"annotations": {ANNOTATION_TOKEN_CHECKSUM: checksum}}}}
    }


def _secret_names(pod_spec: Mapping[str, Any]) -> Iterable[str]:
    for volume in pod_spec.get("volumes") or ():
        secret = volume.get("secret") or {}
        if "secretName" in secret:
            yield secret["secretName"]
        for source in (volume.get("projected") or {}).get("sources") or ():
            if "secret" in source:
                yield source["secret"].get("name", "")
    containers = [*(pod_spec.get("containers") or ()), *(pod_spec.get("initContainers") or ())]
    for c in containers:
        for env in c.get("env") or ():
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                yield ref.get("name", "")
        for src in c.get("envFrom") or ():
            if "secretRef" in src:
                yield src["secretRef"].get("name", "")


def uses_secret(deployment: Mapping[str, Any], secret_name: str) -> bool:
    """Whether the Deployment's pods read ``secret_name`` (env, envFrom or a volume)."""
    pod_spec = deployment.get("spec", {}).get("template", {}).get("spec", {})
    return secret_name in set(_secret_names(pod_spec))


def merge_conditions(
    previous: Sequence[Mapping[str, Any]],
    current: Iterable[Condition],
    now_ns: int,
    generation: int,
) -> list[dict[str, Any]]:
    """Kubernetes-style conditions; ``lastTransitionTime`` moves only when status flips."""
    before = {c.get("type"): c for c in previous}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for cond in current:
        if cond.type in seen:
            continue
        seen.add(cond.type)
        status = "True" if cond.status else "False"
        old = before.get(cond.type)
        since = (
            old["lastTransitionTime"]
            if old is not None and old.get("status") == status and old.get("lastTransitionTime")
            else iso(now_ns)
        )
        out.append(
            {
                "type": cond.type,
                "status": status,
                "reason": cond.reason,
                "message": cond.message[:4096],
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        )
    out.extend(dict(c) for t, c in before.items() if t not in seen and isinstance(t, str))
    return out


def status_patch(
    decision: Decision,
    *,
    previous_status: Mapping[str, Any],
    generation: int,
    now_ns: int,
    kill_switch_applied: bool | None,
) -> dict[str, Any]:
    """The ``status`` merge patch recording a decision."""
    phase_changed = previous_status.get("phase") != decision.phase.value
    sync = decision.sync
    instrument_sync: dict[str, Any] = {
        "succeeded": sync.state == "Succeeded",
        "message": f"{sync.state}: {sync.message} (attempts: {sync.attempts})"[:4096],
    }
    if sync.job:
        instrument_sync["jobName"] = sync.job
    prev_sync = previous_status.get("instrumentSync") or {}
    if sync.state == "Succeeded":
        instrument_sync["completedAt"] = prev_sync.get("completedAt") or iso(now_ns)
    status: dict[str, Any] = {
        "phase": decision.phase.value,
        "message": decision.message[:4096],
        "observedGeneration": generation,
        "conditions": merge_conditions(
            previous_status.get("conditions") or (), decision.conditions, now_ns, generation
        ),
        "instrumentSync": instrument_sync,
        "phaseSince": iso(now_ns) if phase_changed else previous_status.get("phaseSince"),
    }
    if status["phaseSince"] is None:
        status["phaseSince"] = iso(now_ns)
    if decision.backfill is not None:
        status["backfill"] = backfill_status(
            decision.backfill, previous_status.get("backfill") or {}, now_ns
        )
    if decision.token_expiry_ns is not None:
        status["tokenExpiry"] = iso(decision.token_expiry_ns)
    if kill_switch_applied is not None:
        status["killSwitch"] = kill_switch_applied
    return {"status": status}


def backfill_status(
    result: BackfillResult, previous: Mapping[str, Any], now_ns: int
) -> dict[str, Any]:
    """``status.backfill``: the Job, its state, when it finished and what it reported.

    Every key is written (``None`` removes it in the merge patch), so a retry's block
    never keeps the previous attempt's summary. ``finishedAt`` is the Job's own finish
    time when the clock can date it, else the first reconcile that saw it finished.
    """
    finished_at: str | None = None
    if result.finished:
        same = previous.get("state") == result.state.value and previous.get("jobName") == result.job
        finished_at = previous.get("finishedAt") if same else None
        if finished_at is None:
            finished_at = iso(result.finished_ns if result.finished_ns is not None else now_ns)
    counts: dict[str, int | None] = dict.fromkeys(previous.get("counts") or {})
    counts.update(result.counts)
    return {
        "jobName": result.job,
        "state": result.state.value,
        "attempts": result.attempts,
        "finishedAt": finished_at,
        "summary": result.summary[:4096] or None,
        "counts": counts if result.counts else None,
        "message": result.message[:4096],
    }


def kill_switch_event(
    *, engaged: bool, flatten: bool, reason: str, trading_day: str, ts_event_ns: int
) -> KillSwitch:
    """The control command for the kill switch (encoded by the publisher's codec)."""
    return KillSwitch(
        engaged=engaged,
        flatten=flatten,
        reason=reason,
        trading_day=trading_day,
        ts_event=ts_event_ns,
    )
