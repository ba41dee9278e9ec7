"""Observing a TradingDay's world: the token Secret, its Jobs and the Deployments.

Reads through the Kubernetes port and turns what it finds into the phase machine's
:class:`~quant_operator.phases.Observations` (parsing at the edge: no raw manifests past
here except the Deployment list the scaler needs). Called by
:func:`quant_operator.reconciler.reconcile` once per reconcile; the four reads (token,
sync Jobs, backfill Jobs, Deployments) run concurrently. The pods of a finished backfill
Job are read only while the day is not over, for the summary their containers wrote to
the termination log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from quant.core.clock import datetime_to_ns
from quant_operator import backfill, builders
from quant_operator.builders import DayRef
from quant_operator.kube import KubeApi, deployments_path, jobs_path, pods_path, secret_path
from quant_operator.phases import (
    DeploymentObservation,
    JobObservation,
    JobState,
    Observations,
    Phase,
    TokenObservation,
)
from quant_operator.spec import DaySpec
from quant_operator.tokens import token_expiry_ns

#: Label the Job controller puts on the pods of a Job (Kubernetes >= 1.27).
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def ts_ns(value: object) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime_to_ns(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def phase_of(value: object) -> Phase | None:
    try:
        return Phase(str(value)) if value else None
    except ValueError:
        return None


async def observe_token(kube: KubeApi, namespace: str, spec: DaySpec) -> TokenObservation:
    ref = spec.token_secret_ref
    if ref is None:
        return TokenObservation(present=False)
    secret = await kube.get(secret_path(namespace, ref.name))
    data = (secret or {}).get("data") or {}
    if ref.key not in data:
        return TokenObservation(present=False)
    try:
        token = base64.b64decode(data[ref.key]).decode().strip()
    except (binascii.Error, UnicodeDecodeError):
        return TokenObservation(present=False)
    if not token:
        return TokenObservation(present=False)
    expires_at_ms: int | None = None
    if "expires_at" in data:
        try:
            expires_at_ms = int(base64.b64decode(data["expires_at"]).decode().strip())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            expires_at_ms = None
    meta = (secret or {}).get("metadata") or {}
    issued = ts_ns((meta.get("annotations") or {}).get("quant-platform.io/issued-at"))
    if issued is None:
        issued = ts_ns(meta.get("creationTimestamp"))
    return TokenObservation(
        present=True,
        checksum=builders.token_checksum(token),
        expiry_ns=token_expiry_ns(token, issued_ns=issued, expires_at_ms=expires_at_ms),
    )


def _job_observation(
    job: Mapping[str, Any], real_time: bool, attempt_label: str = builders.LABEL_ATTEMPT
) -> JobObservation:
    meta = job.get("metadata") or {}
    status = job.get("status") or {}
    try:
        attempt = int((meta.get("labels") or {}).get(attempt_label, "1"))
    except ValueError:
        attempt = 1
    state, finished, message = JobState.ACTIVE, None, ""
    for cond in status.get("conditions") or ():
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            state = JobState.SUCCEEDED
        elif cond.get("type") == "Failed":
            state = JobState.FAILED
            message = f"{cond.get('reason', '')}: {cond.get('message', '')}".strip(": ")
        else:
            continue
        finished = ts_ns(cond.get("lastTransitionTime")) if real_time else None
    if state is JobState.ACTIVE and (status.get("succeeded") or 0) > 0:
        state = JobState.SUCCEEDED
    return JobObservation(str(meta.get("name", "")), attempt, state, finished, message)


async def observe_backfill(
    kube: KubeApi,
    day: DayRef,
    spec: DaySpec,
    jobs: list[dict[str, Any]],
    *,
    real_time: bool,
    summaries: bool,
) -> tuple[JobObservation, ...]:
    """The day's backfill Jobs, with their pods' summary when one has finished."""
    found = [_job_observation(j, real_time, backfill.LABEL_ATTEMPT) for j in jobs]
    if not summaries or all(j.state is JobState.ACTIVE for j in found):
        return tuple(found)
    pods = await kube.list(pods_path(day.namespace), backfill.backfill_job_selector(day, spec))
    by_job: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        owner = ((pod.get("metadata") or {}).get("labels") or {}).get(JOB_NAME_LABEL)
        by_job.setdefault(str(owner), []).append(pod)
    out = []
    for j in found:
        if j.state is not JobState.ACTIVE:
            summary, counts = backfill.summary_from_pods(by_job.get(j.name, ()))
            j = replace(j, summary=summary, counts=counts)
        out.append(j)
    return tuple(out)


async def observe(
    kube: KubeApi,
    day: DayRef,
    spec: DaySpec,
    *,
    real_time: bool,
    token_request: bool,
    backfill_universe: bool = True,
    day_over: bool = False,
) -> tuple[Observations, list[dict[str, Any]]]:
    """What the phase machine needs; ``day_over`` (a Closed/Failed/Holiday day) skips
    reading the backfill pods, which only a running day reports."""
    try:
        async with asyncio.TaskGroup() as tg:  # independent reads, concurrently
            token_task = tg.create_task(observe_token(kube, day.namespace, spec))
            jobs_task = tg.create_task(
                kube.list(jobs_path(day.namespace), builders.sync_job_selector(day, spec))
            )
            backfill_task = tg.create_task(
                kube.list(jobs_path(day.namespace), backfill.backfill_job_selector(day, spec))
            )
            deps_task = tg.create_task(
                kube.list(deployments_path(day.namespace), builders.LABEL_COMPONENT)
            )
    except ExceptionGroup as eg:
        raise eg.exceptions[0] from eg
    token, jobs, deployments = token_task.result(), jobs_task.result(), deps_task.result()
    backfill_jobs = await observe_backfill(
        kube, day, spec, backfill_task.result(), real_time=real_time, summaries=not day_over
    )
    secret = spec.token_secret_ref.name if spec.token_secret_ref else None
    deps = tuple(
        DeploymentObservation(
            name=d["metadata"]["name"],
            component=d["metadata"]["labels"][builders.LABEL_COMPONENT],
            replicas=int((d.get("spec") or {}).get("replicas", 1)),
            token_checksum=(
                ((d.get("spec") or {}).get("template", {}).get("metadata") or {}).get("annotations")
                or {}
            ).get(builders.ANNOTATION_TOKEN_CHECKSUM),
            uses_token=secret is not None and builders.uses_secret(d, secret),
        )
        for d in deployments
    )
    obs = Observations(
        token=token,
        sync_jobs=tuple(_job_observation(j, real_time) for j in jobs),
        deployments=deps,
        token_request_configured=token_request,
        backfill_jobs=backfill_jobs,
        backfill_universe=backfill_universe,
    )
    return obs, deployments
