"""``/healthz`` (the process is alive), ``/readyz`` (it can serve) and ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from quant.gateway.deps import PortsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ports: PortsDep) -> JSONResponse:
    ok, reasons = ports.readiness.ready()
    body = {"status": "ready" if ok else "not ready", "reasons": list(reasons)}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(ports: PortsDep) -> Response:
    registry = ports.registry if ports.registry is not None else REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
