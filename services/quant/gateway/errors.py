"""The gateway's validation errors: 422 with what was wrong, never the input echoed back.

FastAPI's default 422 body repeats each rejected value (``input``) and the validator's
context; a client that sends kilobytes gets kilobytes back, and a control character or
a secret pasted by mistake lands in logs and proxies. :func:`install` replaces it with
one that says where (``loc``) and what (``msg``, at most 200 characters, and ``type``)
per error. Installed by :func:`quant.gateway.app.create_app`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

MAX_MESSAGE = 200


def _brief(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "loc": [str(part)[:MAX_MESSAGE] for part in error.get("loc", ())],
        "msg": str(error.get("msg", ""))[:MAX_MESSAGE],
        "type": str(error.get("type", ""))[:MAX_MESSAGE],
    }


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    del request
    return JSONResponse(status_code=422, content={"detail": [_brief(e) for e in exc.errors()]})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
