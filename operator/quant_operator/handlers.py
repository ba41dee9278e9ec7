"""Thin kopf handlers for TradingDay: wire the ports at startup, then reconcile.

Loaded by ``quant_operator.main`` (``quant operator``) or directly with
``kopf run -m quant_operator.handlers`` / ``KopfRunner([... '-m',
'quant_operator.handlers'])``. The startup handler is the composition root: it reads
:class:`~quant_operator.settings.OperatorSettings`, logs in with kopf's credentials and
builds the ports into ``memo``. Create/update(spec)/resume reconcile at once; a daemon
per TradingDay reconciles every ``reconcile_interval`` seconds. A lock per object keeps
them from overlapping. Retryable failures become ``kopf.TemporaryError(delay=...)``; an
invalid spec is recorded on the status and raised as ``kopf.PermanentError``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import kopf

from quant_operator import builders
from quant_operator.control import (
    ControlPublisher,
    ControlPublishError,
    KafkaControlPublisher,
    LoggingControlPublisher,
)
from quant_operator.kube import HttpKube, KubeError
from quant_operator.reconciler import Outcome, Ports, ReconcileError, finalize, reconcile
from quant_operator.settings import OperatorSettings
from quant_operator.spec import SpecError
from quant_operator.timesource import build_time_source
from quant_operator.upstox_token import HttpTokenRequester, TokenRequester

log = logging.getLogger(__name__)
RESOURCE = (builders.GROUP, builders.VERSION, builders.PLURAL)
FINALIZER = "trading.quant-platform.io/scale-down"
RETRY_DELAY = 5.0


class _Events:
    """``EventSink`` posting Kubernetes Events on the TradingDay through kopf."""

    def __init__(self, body: kopf.Body) -> None:
        self._body = body

    def info(self, reason: str, message: str) -> None:
        kopf.info(self._body, reason=reason, message=message)

    def warn(self, reason: str, message: str) -> None:
        kopf.warn(self._body, reason=reason, message=message)


def _control(settings: OperatorSettings) -> ControlPublisher:
    if settings.kafka is None:
        return LoggingControlPublisher()
    from quant.bus.kafka import KafkaBus  # loads librdkafka: only when Kafka is configured

    bus = KafkaBus(settings.kafka.bootstrap_servers, client_id=settings.kafka.client_id)
    return KafkaControlPublisher(bus.publisher())


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Composition root: settings, credentials, ports."""
    config = OperatorSettings()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    settings.persistence.finalizer = FINALIZER
    settings.posting.level = logging.INFO  # kopf.info() Events (PhaseChanged, ...) need INFO
    settings.watching.server_timeout = 60
    # One namespace (the chart's case): serve the resources found at startup and do not
    # list namespaces or CRDs cluster-wide, which a namespaced Role does not allow.
    settings.scanning.disabled = config.operator.namespace is not None
    conn = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )
    if conn is None:
        raise kopf.PermanentError("no Kubernetes credentials (service account or kubeconfig)")
    kube = HttpKube.from_connection(conn, timeout=config.operator.request_timeout)
    tokens: TokenRequester | None = None
    http: httpx.AsyncClient | None = None
    if config.token_request_enabled:
        ca = str(config.upstox.ca_file) if config.upstox.ca_file else True
        http = httpx.AsyncClient(timeout=config.operator.request_timeout, verify=ca)
        tokens = HttpTokenRequester(
            http, config.upstox.api_base, config.upstox.client_id, config.upstox.client_secret
        )
    memo.config = config
    memo.kube = kube
    memo.http = http
    memo.control = _control(config)
    memo.locks = {}
    memo.ports = Ports(
        kube=kube,
        time=build_time_source(config.clock, kube),
        control=memo.control,
        tokens=tokens,
        sync_image=config.operator.sync_image,
        sync_service_account=config.operator.sync_service_account,
        sync_env_configmap=config.operator.sync_env_configmap,
        real_time=config.clock.mode == "real",
        backfill_universe=config.operator.backfill_universe,
        job_secret_env=config.operator.job_secret_env,
        token_secret=config.operator.token_secret,
        token_key=config.operator.token_key,
    )
    log.info(
        "quant-operator configured: clock=%s kafka=%s token-request=%s interval=%.1fs",
        config.clock.mode,
        "on" if config.kafka else "off",
        "on" if tokens else "off",
        config.operator.reconcile_interval,
    )


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    await memo.kube.aclose()
    if memo.http is not None:
        await memo.http.aclose()
    if isinstance(memo.control, KafkaControlPublisher):
        await asyncio.to_thread(memo.control.close)


def _lock(memo: kopf.Memo, namespace: str, name: str) -> asyncio.Lock:
    locks: dict[tuple[str, str], asyncio.Lock] = memo.locks
    return locks.setdefault((namespace, name), asyncio.Lock())


async def _reconcile_once(body: kopf.Body, memo: kopf.Memo) -> Outcome | None:
    namespace, name = body.metadata.namespace or "default", body.metadata.name or ""
    async with _lock(memo, namespace, name):
        try:
            return await reconcile(memo.ports, namespace, name, _Events(body))
        except SpecError as e:
            raise kopf.PermanentError(f"invalid TradingDay spec: {e}") from e
        except (KubeError, ReconcileError, ControlPublishError) as e:
            raise kopf.TemporaryError(str(e), delay=RETRY_DELAY) from e


@kopf.on.resume(*RESOURCE)
@kopf.on.create(*RESOURCE)
@kopf.on.update(*RESOURCE, field="spec")
async def changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """React at once to a new, changed or (after a restart) resumed TradingDay."""
    await _reconcile_once(body, memo)


@kopf.daemon(*RESOURCE, cancellation_timeout=10.0)
async def run_day(body: kopf.Body, memo: kopf.Memo, stopped: kopf.DaemonStopped, **_: Any) -> None:
    """Reconcile the day periodically so time-driven transitions happen on their own.

    The wait is the configured interval, or less when the phase machine says the next
    boundary (e.g. market open) comes sooner on a real or accelerated clock.
    """
    config: OperatorSettings = memo.config
    interval = config.operator.reconcile_interval
    speed = {"real": 1.0, "accelerated": config.clock.speed}.get(config.clock.mode)
    while not stopped:
        try:
            outcome = await _reconcile_once(body, memo)
            delay = interval
            if outcome is not None and outcome.decision is not None and speed:
                delay = min(interval, max(0.05, outcome.decision.requeue_after_s / speed))
        except kopf.PermanentError:
            delay = max(interval, 30.0)  # recorded on the status; wait for a spec change
        except kopf.TemporaryError as e:
            log.warning("TradingDay %s: %s; retrying in %.0fs", body.metadata.name, e, e.delay)
            delay = e.delay or RETRY_DELAY
        await stopped.wait(delay)


@kopf.on.delete(*RESOURCE)
async def deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Finalizer: a running day's workloads are scaled down when it is deleted."""
    namespace = body.metadata.namespace or "default"
    try:
        await finalize(memo.ports, namespace, body, _Events(body))
    except KubeError as e:
        raise kopf.TemporaryError(str(e), delay=RETRY_DELAY) from e
    memo.locks.pop((namespace, body.metadata.name or ""), None)
