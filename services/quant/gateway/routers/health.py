"""``/healthz`` (the process is alive), ``/readyz`` (it can serve) and ``/metrics``.

``/metrics`` is the Prometheus text exposition (``text/plain``), and the
OpenAPI says so; ``/readyz`` answers 503 with its reasons while the process cannot serve.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel, Field

from quant.gateway.deps import PortsDep

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str = Field(description='"ok"')


class ReadyOut(BaseModel):
    status: str = Field(description='"ready" or "not ready"')
    reasons: list[str] = Field(description="why not ready (empty when ready)")


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready (the reasons say why)"}},
)
def readyz(ports: PortsDep) -> JSONResponse:
    ok, reasons = ports.readiness.ready()
    body = ReadyOut(status="ready" if ok else "not ready", reasons=list(reasons))
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=Response,  # no JSON: the one documented body is the text below
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
def metrics(ports: PortsDep) -> Response:
    registry = ports.registry if ports.registry is not None else REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
