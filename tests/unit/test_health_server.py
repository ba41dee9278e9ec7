"""The shared health server: /healthz, /readyz (200/503 from the callable), /metrics, 404."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry, Counter

from quant.runtime.health import HealthServer


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class _Flag:
    def __init__(self) -> None:
        self.ok = False

    def __call__(self) -> tuple[bool, Sequence[str]]:
        return self.ok, [] if self.ok else ["consumer not assigned"]


@pytest.fixture
def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    Counter("quant_test_events", "events", registry=reg).inc(3)
    return reg


def test_endpoints(registry: CollectorRegistry) -> None:
    flag = _Flag()
    with HealthServer(0, registry, flag, host="127.0.0.1") as server:
        assert _get(server.port, "/healthz")[0] == 200
        status, body = _get(server.port, "/readyz")
        assert status == 503
        assert b"consumer not assigned" in body
        flag.ok = True
        assert _get(server.port, "/readyz")[0] == 200
        status, body = _get(server.port, "/metrics")
        assert status == 200
        assert b"quant_test_events_total 3.0" in body
        assert _get(server.port, "/nope")[0] == 404
        server.set_alive(False)
        assert _get(server.port, "/healthz")[0] == 503
        assert _get(server.port, "/readyz")[0] == 503


def test_failing_check_is_not_ready(registry: CollectorRegistry) -> None:
    def broken() -> tuple[bool, Sequence[str]]:
        raise RuntimeError("boom")

    with HealthServer(0, registry, broken, host="127.0.0.1") as server:
        status, body = _get(server.port, "/readyz")
    assert status == 503
    assert b"RuntimeError" in body


def test_close_joins_thread_and_frees_port(registry: CollectorRegistry) -> None:
    server = HealthServer(0, registry, host="127.0.0.1").start()
    port = server.port
    server.close()
    server.close()  # idempotent
    assert not any(t.name == "health-http" for t in threading.enumerate())
    with pytest.raises(OSError):
        _get(port, "/healthz")
    HealthServer(port, registry, host="127.0.0.1").close()  # the port is free again
