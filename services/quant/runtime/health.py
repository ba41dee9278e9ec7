"""The data services' health port: ``/healthz``, ``/readyz`` and ``/metrics`` over HTTP.

``quant ingestor`` and ``quant features`` (their ``cli`` composition roots) start one
:class:`HealthServer` on ``metrics_port`` (the Helm chart points its liveness/readiness
probes there) and close it on shutdown. It is a stdlib ``ThreadingHTTPServer`` in one
tracked, non-daemon thread:

- ``/healthz``: 200 while :meth:`HealthServer.set_alive` has not been cleared;
- ``/readyz``: 200 or 503 from the service's readiness callable (``(ok, reasons)``);
- ``/metrics``: ``prometheus_client.generate_latest`` of the service's registry;
- anything else: 404.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], tuple[bool, Sequence[str]]]


def always_ready() -> tuple[bool, Sequence[str]]:
    return True, ()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        if path == "/healthz":
            alive = owner.alive
            self._json(200 if alive else 503, {"status": "ok" if alive else "stopping"})
        elif path == "/readyz":
            try:
                ok, reasons = owner.readiness()
            except Exception as exc:  # a failing check means not ready, and is logged
                log.exception("readiness check failed")
                ok, reasons = False, [f"readiness check failed: {type(exc).__name__}"]
            ok = ok and owner.alive
            body = {"status": "ready" if ok else "not ready", "reasons": list(reasons)}
            self._json(200 if ok else 503, body)
        elif path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, generate_latest(owner.registry))
        else:
            self._json(404, {"status": "not found"})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("health %s", format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # request threads; the serving thread itself is tracked
    owner: HealthServer


class HealthServer:
    """Serve the health endpoints on ``host:port`` until :meth:`close` (port 0 = any free)."""

    def __init__(
        self,
        port: int,
        registry: CollectorRegistry,
        readiness: ReadinessCheck = always_ready,
        *,
        host: str = "0.0.0.0",  # noqa: S104 (probes come from the kubelet)
    ) -> None:
        self.registry = registry
        self.readiness = readiness
        self.alive = True
        self._httpd = _Server((host, port), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="health-http"
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("health/metrics on port %d", self.port)
        return self

    def set_alive(self, alive: bool) -> None:
        self.alive = alive

    def close(self) -> None:
        """Stop serving, join the thread and release the socket (idempotent)."""
        self.alive = False
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
