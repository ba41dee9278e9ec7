"""The end-of-day backfill Job: its manifest and what its pods report (pure).

In the Closing phase the phase machine asks for a ``quant backfill`` Job per attempt
(:class:`~quant_operator.phases.CreateBackfillJob`); :func:`build_backfill_job` makes it:
one pod that runs ``quant backfill ... --interval day`` (an init container) and then
``--interval 1minute`` for the day's date, so the two never share Upstox's rate limit at
the same time. The universe is ``spec.universe`` (every symbol and instrument key, lists
included, as one ``--symbols`` argument) or, without one, the operator's default
``--universe NAME|FILE``. The Job reads the platform's settings ConfigMap (QuestDB,
Upstox endpoints), the secret-backed env the chart hands the operator (QuestDB and
PostgreSQL logins: names and keys only) and the day's token Secret as a file, like the
services.

Each container writes a one-line JSON summary to its termination log
(``QUANT_BACKFILL__TERMINATION_LOG``, Kubernetes' ``/dev/termination-log``: the fields of its
report, ``stopped``, and ``error`` when it failed);
:func:`summary_from_pods` turns what the pods report into the status' ``summary`` and
``counts``. A message that is not such JSON (``FallbackToLogsOnError``: the log's tail
of a crash) is kept as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from quant_operator.builders import (
    LABEL_COMPONENT,
    LABEL_DAY,
    DayRef,
    job_name,
    owner_reference,
)
from quant_operator.spec import DaySpec

COMPONENT = "eod-backfill"
LABEL_BACKFILL_DATE = "quant-platform.io/backfill-date"
LABEL_ATTEMPT = "quant-platform.io/attempt"
TERMINATION_LOG = "/dev/termination-log"
TERMINATION_LOG_ENV = "QUANT_BACKFILL__TERMINATION_LOG"
TOKEN_DIR = "/var/run/secrets/quant-platform/upstox"  # noqa: S105 - a mount path
#: The order the two intervals run in (init container first).
INTERVALS: tuple[str, ...] = ("day", "1minute")
#: Report fields summed into ``status.backfill.counts`` (camelCase there).
_COUNTED = {
    "requests": "requests",
    "candles_written": "candlesWritten",
    "candles_dropped": "candlesDropped",
    "gaps": "gaps",
    "errors": "errors",
    "skipped_chunks": "skippedChunks",
}
_MAX_TEXT = 300


def backfill_job_name(day: DayRef, spec: DaySpec, attempt: int) -> str:
    """Deterministic name per day and attempt (``<day>-backfill-<yyyymmdd>-<n>``)."""
    return job_name(day, "backfill", spec, attempt)


def backfill_job_selector(day: DayRef, spec: DaySpec) -> str:
    """Label selector of the day's backfill Jobs and their pods (all attempts)."""
    return f"{LABEL_DAY}={day.name},{LABEL_BACKFILL_DATE}={spec.date.isoformat()}"


def universe_args(spec: DaySpec, default_universe: str) -> list[str]:
    """``--symbols A,B,...`` from ``spec.universe``, else ``--universe <default>``."""
    entries = spec.universe.entries()
    if entries:
        return ["--symbols", ",".join(entries)]
    return ["--universe", default_universe]


def build_backfill_job(
    day: DayRef,
    spec: DaySpec,
    attempt: int,
    *,
    image: str,
    default_universe: str,
    token_secret: str | None,
    token_key: str = "access_token",  # noqa: S107 - a key name
    env_from_configmap: str | None = None,
    secret_env: Sequence[Mapping[str, Any]] = (),
    service_account: str | None = None,
) -> dict[str, Any]:
    """The ``quant backfill`` Job for one attempt of the day's end-of-day backfill."""
    bf = spec.backfill
    day_s = spec.date.isoformat()
    labels = {
        LABEL_DAY: day.name,
        LABEL_BACKFILL_DATE: day_s,
        LABEL_ATTEMPT: str(attempt),
        LABEL_COMPONENT: COMPONENT,
        "app.kubernetes.io/part-of": "quant-platform",
    }
    # The day's token Secret (its key may differ from the chart's: say where it is).
    ref = spec.token_secret_ref
    secret, key = (ref.name, ref.key) if ref is not None else (token_secret, token_key)
    env: list[dict[str, Any]] = [
        {"name": "QUANT_TRADING_DAY", "value": day_s},
        {"name": "QUANT_EXCHANGE", "value": spec.exchange},
        {"name": TERMINATION_LOG_ENV, "value": TERMINATION_LOG},
    ]
    if secret:
        env.append({"name": "QUANT_UPSTOX__TOKEN_FILE", "value": f"{TOKEN_DIR}/{key}"})
    env += [dict(e) for e in secret_env]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 - emptyDir
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    if secret:
        mounts.append({"name": "upstox-token", "mountPath": TOKEN_DIR, "readOnly": True})
        volumes.append({"name": "upstox-token", "secret": {"secretName": secret, "optional": True}})
    universe = universe_args(spec, default_universe)

    def container(interval: str) -> dict[str, Any]:
        c: dict[str, Any] = {
            "name": f"backfill-{interval.lower()}",
            "image": bf.image or image,
            "command": ["quant", "backfill"],
            "args": [*universe, "--from", day_s, "--to", day_s, "--interval", interval],
            "env": env,
            "terminationMessagePath": TERMINATION_LOG,
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "resources": {
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": mounts,
        }
        if env_from_configmap:
            c["envFrom"] = [{"configMapRef": {"name": env_from_configmap, "optional": True}}]
        return c

    first, *rest = INTERVALS
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [container(first)],
        "containers": [container(i) for i in rest],
        "volumes": volumes,
    }
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": backfill_job_name(day, spec, attempt),
            "namespace": day.namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(day)],
        },
        "spec": {
            "backoffLimit": bf.backoff_limit,
            "activeDeadlineSeconds": bf.active_deadline_seconds,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def _terminated_messages(pod: Mapping[str, Any]) -> list[str]:
    status = pod.get("status") or {}
    found = [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]
    out = []
    for cs in found:
        message = ((cs.get("state") or {}).get("terminated") or {}).get("message")
        if isinstance(message, str) and message.strip():
            out.append(message.strip())
    return out


def _describe(report: Mapping[str, Any]) -> str:
    def n(key: str) -> int:
        value = report.get(key)
        if isinstance(value, list):
            return len(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    interval = str(report.get("interval") or "?")
    error = report.get("error")
    if "symbols" not in report:  # it stopped before a report (bad arguments, no master)
        return f"{interval}: {str(error or 'no report')[:_MAX_TEXT]}"
    text = (
        f"{interval}: {n('symbols')} symbols, {n('candles_written')} candles written, "
        f"{n('candles_dropped')} dropped, {n('gaps')} gaps, {n('errors')} errors"
    )
    if report.get("stopped") is True:
        text += ", stopped"
    return f"{text} ({str(error)[:_MAX_TEXT]})" if error else text


def summary_from_messages(messages: Iterable[str]) -> tuple[str, tuple[tuple[str, int], ...]]:
    """(one-line summary, summed counts) from the containers' termination messages."""
    parts: list[str] = []
    counts: dict[str, int] = {}
    for message in messages:
        try:
            report = json.loads(message.splitlines()[-1])
        except (ValueError, IndexError):
            report = None
        if not isinstance(report, dict):
            parts.append(" ".join(message.split())[-_MAX_TEXT:])
            continue
        parts.append(_describe(report))
        for key, name in _COUNTED.items():
            value = report.get(key)
            if isinstance(value, list):
                value = len(value)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                counts[name] = counts.get(name, 0) + value
    return "; ".join(parts), tuple(sorted(counts.items()))


def summary_from_pods(
    pods: Iterable[Mapping[str, Any]],
) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The summary of the newest pod that reported anything (a retried pod's last word)."""
    reporting = [p for p in pods if _terminated_messages(p)]
    if not reporting:
        return "", ()
    newest = max(reporting, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp")))
    return summary_from_messages(_terminated_messages(newest))
