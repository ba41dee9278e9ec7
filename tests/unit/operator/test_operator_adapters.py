"""Operator adapters with fakes: settings, clocks, token request (httpx MockTransport), control."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from quant.bus.codecs import decode_control
from quant.core.clock import NS_PER_SECOND, datetime_to_ns
from quant.core.control import KillSwitch
from quant_operator.control import KafkaControlPublisher
from quant_operator.kube import KubeError
from quant_operator.settings import ClockSettings, OperatorSettings
from quant_operator.timesource import AcceleratedClock, ConfigMapTimeSource
from quant_operator.upstox_token import HttpTokenRequester, TokenRequestError


def test_settings_from_env_with_accelerated_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_CLOCK__MODE", "accelerated")
    monkeypatch.setenv("QUANT_CLOCK__START", "2026-11-25T08:00:00+05:30")
    monkeypatch.setenv("QUANT_CLOCK__SPEED", "600")
    monkeypatch.setenv("QUANT_OPERATOR__RECONCILE_INTERVAL", "0.5")
    monkeypatch.setenv("QUANT_KAFKA__BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("QUANT_POSTGRES__DSN", "ignored-by-the-operator")
    s = OperatorSettings()
    assert s.clock.mode == "accelerated" and s.clock.speed == 600
    assert s.operator.reconcile_interval == 0.5
    assert s.kafka is not None and s.kafka.bootstrap_servers == "k:9092"
    assert not s.token_request_enabled


def test_accelerated_clock_needs_a_start() -> None:
    with pytest.raises(ValidationError, match="QUANT_CLOCK__START"):
        ClockSettings(mode="accelerated")


def test_accelerated_clock_runs_speed_times_faster() -> None:
    ticks = iter([0, 2 * NS_PER_SECOND])
    clock = AcceleratedClock(1_000, 600.0, monotonic_ns=lambda: next(ticks))
    assert clock.now_ns() == 1_000 + 1200 * NS_PER_SECOND


class _OneConfigMap:
    def __init__(self, data: dict[str, str] | None) -> None:
        self.data = data

    async def get(self, path: str) -> dict[str, Any] | None:
        assert path == "/api/v1/namespaces/ns1/configmaps/clock"
        return None if self.data is None else {"data": self.data}

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        raise AssertionError("unused")

    async def create(self, path: str, body: Any) -> dict[str, Any] | None:
        raise AssertionError("unused")

    async def patch(
        self, path: str, body: Any, *, strategic: bool = False
    ) -> dict[str, Any] | None:
        raise AssertionError("unused")


async def test_configmap_clock_reads_now() -> None:
    src = ConfigMapTimeSource(_OneConfigMap({"now": "2026-11-25T09:15:00+05:30"}), "clock")
    expected = datetime_to_ns(datetime(2026, 11, 25, 3, 45, tzinfo=UTC))
    assert await src.now_ns("ns1") == expected
    with pytest.raises(KubeError, match=r"no data\.now"):
        await ConfigMapTimeSource(_OneConfigMap(None), "clock").now_ns("ns1")
    with pytest.raises(KubeError, match="clock"):
        await ConfigMapTimeSource(_OneConfigMap({"now": "soon"}), "clock").now_ns("ns1")


async def test_token_request_posts_the_client_secret_to_the_v3_endpoint() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"status": "success", "data": {"authorization_expiry": "1732226400000"}}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        req = HttpTokenRequester(client, "https://sim.local/", "CID", SecretStr("s3cret"))
        msg = await req.request_token()
    assert "1732226400000" in msg and "s3cret" not in msg
    (r,) = seen
    assert r.method == "POST" and str(r.url) == "https://sim.local/v3/login/auth/token/request/CID"
    assert json.loads(r.content) == {"client_secret": "s3cret"}


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (401, False)])
async def test_token_request_errors_say_whether_to_retry(status: int, retryable: bool) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, text="nope"))
    async with httpx.AsyncClient(transport=transport) as client:
        req = HttpTokenRequester(client, "https://sim.local", "CID", SecretStr("s"))
        with pytest.raises(TokenRequestError) as info:
            await req.request_token()
    assert info.value.retryable is retryable


class _FakePublisher:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bytes]] = []
        self.flushed = 0

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.messages.append((topic, key, value))

    def flush(self, timeout: float = 30.0) -> None:
        self.flushed += 1

    def close(self) -> None:
        pass


async def test_kafka_control_publisher_writes_a_control_event_and_waits() -> None:
    pub = _FakePublisher()
    cmd = KillSwitch(True, False, "r", "2026-11-25", 5)
    await KafkaControlPublisher(pub).publish(cmd)
    ((topic, key, value),) = pub.messages
    # keyed by scope, not by day: on the compacted topic the latest per scope is the state
    assert topic == "control.commands" and key == "killswitch/account"
    assert decode_control(value) == cmd and pub.flushed == 1


async def test_kafka_control_publisher_keys_a_strategy_kill_switch_by_strategy() -> None:
    pub = _FakePublisher()
    cmd = KillSwitch(True, True, "r", "2026-11-25", 5, strategy="momo")
    await KafkaControlPublisher(pub).publish(cmd)
    ((_, key, value),) = pub.messages
    assert key == "killswitch/strategy/momo" and decode_control(value) == cmd


async def test_http_kube_maps_statuses_and_sends_merge_patches() -> None:
    from quant_operator.kube import HttpKube

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path.endswith("/missing"):
            return httpx.Response(404, json={"message": "not found"})
        if request.method == "POST" and path.endswith("/jobs"):
            return httpx.Response(409, json={"message": "exists"})
        if path.endswith("/forbidden"):
            return httpx.Response(403, json={"message": "jobs is forbidden"})
        if request.method == "GET" and path.endswith("/jobs"):
            return httpx.Response(200, json={"items": [{"metadata": {"name": "j"}}]})
        return httpx.Response(200, json={"ok": True})

    client = httpx.AsyncClient(base_url="https://k8s.local", transport=httpx.MockTransport(handler))
    kube = HttpKube(client)
    assert await kube.get("/api/v1/x/missing") is None
    assert await kube.patch("/api/v1/x/missing", {"a": 1}) is None
    assert (
        await kube.create("/apis/batch/v1/namespaces/n/jobs", {"metadata": {"name": "j"}}) is None
    )
    assert await kube.list("/apis/batch/v1/namespaces/n/jobs", "a=b") == [
        {"metadata": {"name": "j"}}
    ]
    assert await kube.patch("/apis/apps/v1/d", {"spec": {"replicas": 1}}) == {"ok": True}
    assert await kube.patch("/apis/apps/v1/e", {"spec": {}}, strategic=True) == {"ok": True}
    with pytest.raises(KubeError, match="forbidden") as info:
        await kube.get("/api/v1/x/forbidden")
    assert info.value.status == 403
    await kube.aclose()
    patch = next(r for r in seen if r.method == "PATCH" and r.url.path == "/apis/apps/v1/d")
    assert patch.headers["content-type"] == "application/merge-patch+json"
    smp = next(r for r in seen if r.method == "PATCH" and r.url.path == "/apis/apps/v1/e")
    assert smp.headers["content-type"] == "application/strategic-merge-patch+json"
    listed = next(r for r in seen if r.method == "GET" and r.url.path.endswith("/jobs"))
    assert listed.url.params["labelSelector"] == "a=b"


async def test_kafka_delivery_failure_becomes_a_control_publish_error() -> None:
    from quant.bus.errors import DeliveryError, DeliveryFailure
    from quant_operator.control import ControlPublishError

    class Failing(_FakePublisher):
        def flush(self, timeout: float = 30.0) -> None:
            raise DeliveryError(
                [DeliveryFailure("control.commands", "k", "down", "_TRANSPORT", True)]
            )

    with pytest.raises(ControlPublishError, match=r"control\.commands"):
        await KafkaControlPublisher(Failing()).publish(KillSwitch(True, False, "r", "d", 1))
