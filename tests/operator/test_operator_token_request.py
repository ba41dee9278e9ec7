"""Token renewal end to end: the operator asks Upstox (the simulator) for a fresh token.

The token Secret holds yesterday's token. The operator, configured with the app's client
id and secret, calls ``POST /v3/login/auth/token/request/{client_id}`` on the simulator;
the simulator "approves" and posts the new token to the notifier webhook. A small
webhook here stands in for ``quant auth``'s receiver and writes the Secret. The operator
then sees a valid token, starts the instrument sync and rolls the Deployments.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tradingday_kit import (
    TOKEN_SECRET,
    apply,
    get,
    ist,
    items,
    operator_env,
    prepare_namespace,
    run_operator,
    token_for,
    token_secret,
    trading_day,
    wait_phase,
    wait_until,
)

from quant.sim.config import SimConfig
from quant.sim.server import SimServer

pytestmark = [pytest.mark.operator, pytest.mark.slow]

DAY = date(2026, 11, 25)


@contextmanager
def webhook(cluster: Any, namespace: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A notifier webhook that writes the delivered token into the token Secret."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(payload)
            secret = token_secret(namespace, payload["access_token"])
            secret["stringData"]["expires_at"] = payload["expires_at"]
            apply(cluster, secret)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/notify", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def simulator(config: SimConfig) -> Iterator[str]:
    """The Upstox simulator on its own event loop in a thread; yields its base URL."""
    ready: list[str] = []
    started = threading.Event()
    stop: list[asyncio.Event] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        stop.append(asyncio.Event())
        async with SimServer(config) as sim:
            ready.append(sim.base_url)
            started.set()
            await stop[0].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), name="sim")
    thread.start()
    try:
        assert started.wait(60), "simulator did not start"
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(timeout=30)
        loop.close()


def test_an_expired_token_is_renewed_through_the_token_request_flow(
    k8s_cluster: Any, k8s_namespace: str
) -> None:
    ns, cluster = k8s_namespace, k8s_cluster
    prepare_namespace(cluster, ns, DAY, ist(DAY, 8, 20))
    apply(cluster, token_secret(ns, token_for(date(2026, 11, 24))))  # expired 03:30 today
    with webhook(cluster, ns) as (notify_url, received):
        config = SimConfig(start=ist(DAY, 8, 20), notifier_url=notify_url, step_interval=5.0)
        with simulator(config) as base_url, operator_env(str(cluster.kubeconfig), ns):
            upstox = {
                "QUANT_UPSTOX__API_BASE": base_url,
                "QUANT_UPSTOX__CLIENT_ID": config.client_id,
                "QUANT_UPSTOX__CLIENT_SECRET": config.client_secret,
            }
            with _extra_env(upstox), run_operator(ns):
                apply(cluster, trading_day("day", ns, DAY))
                wait_until("the token webhook call", lambda: received, timeout=60)
                body = wait_phase(cluster, ns, "day", "SyncingInstruments", timeout=60)
    (payload,) = received
    assert payload["message_type"] == "access_token" and payload["client_id"] == "sim-client"
    secret = get(cluster, ns, "secret", TOKEN_SECRET)
    assert "access_token" in secret["data"]
    annotations = body["metadata"].get("annotations") or {}
    assert "quant-platform.io/token-requested-at" in annotations
    assert body["status"]["tokenExpiry"] == "2026-11-25T22:00:00Z"  # 03:30 IST next day
    reasons = [
        e.get("reason")
        for e in items(cluster, ns, "events")
        if e.get("involvedObject", {}).get("name") == "day"
    ]
    assert "TokenRequested" in reasons


@contextmanager
def _extra_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
