"""The gateway's error bodies: what they look like, and the OpenAPI that says so.

Two shapes, both documented on every route through :func:`responses`:

- :class:`ErrorOut` ``{"detail": "<message>"}``: 404 (unknown symbol, no data yet, options
  not subscribed) and any other ``HTTPException``;
- :class:`ValidationErrorOut` ``{"detail": [{"loc", "msg", "type"}]}``: 422, a malformed
  parameter (control characters included).

FastAPI's default 422 body repeats each rejected value (``input``) and the validator's
context; a client that sends kilobytes gets kilobytes back, and a control character or
a secret pasted by mistake lands in logs and proxies. :func:`install` replaces it with
one that says where (``loc``) and what (``msg``, at most 200 characters, and ``type``)
per error; :func:`invalid` raises the same shape from a router. A body that cannot even be
decoded (not UTF-8), which FastAPI answers with an undocumented 400, is a 422 of that
shape too. Installed by
:func:`quant.gateway.app.create_app`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_MESSAGE = 200
#: FastAPI's 400 for a body it cannot even decode (not UTF-8): answered as a 422 instead
UNPARSABLE_BODY = "There was an error parsing the body"


class ErrorOut(BaseModel):
    """An error said in words (404, ...)."""

    detail: str = Field(description="what went wrong and, where it helps, what to do")


class ValidationIssue(BaseModel):
    loc: list[str] = Field(description='where: ["path", "symbol"], ["query", "limit"], ...')
    msg: str = Field(description=f"what is wrong (at most {MAX_MESSAGE} characters)")
    type: str = Field(description="the kind of error (string_pattern_mismatch, ...)")


class ValidationErrorOut(BaseModel):
    """A malformed request (422); the rejected input is never echoed back."""

    detail: list[ValidationIssue]


_DESCRIPTIONS = {
    400: "Bad request (the message says why: a reversed or too long range, ...)",
    404: "Not found (the message says what: symbol, market data, greeks)",
    422: "Malformed parameter",
    503: "Not ready, or a store it needs does not answer",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer ``codes`` (422 always included)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({*codes, 422}):
        model = ValidationErrorOut if code == 422 else ErrorOut
        out[code] = {"model": model, "description": _DESCRIPTIONS.get(code, "Error")}
    return out


def invalid(where: str, name: str, message: str) -> RequestValidationError:
    """A 422 in the validation shape for parameter ``name`` (``where``: path, query, body;
    an empty ``name``: the whole of ``where``)."""
    loc = (where, name) if name else (where,)
    return RequestValidationError(
        [{"loc": loc, "msg": message[:MAX_MESSAGE], "type": "value_error"}]
    )


def brief_issues(issues: Any) -> list[dict[str, Any]] | None:
    """``issues`` (a list of errors from elsewhere, e.g. the execution service) in the
    validation shape, or None when it is not such a list."""
    if not isinstance(issues, list) or not all(isinstance(e, dict) for e in issues):
        return None
    return [_brief(e) for e in issues]


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


def unparsable_body() -> JSONResponse:
    """The 422 for a body that is not text at all (FastAPI's own answer is an undocumented
    400); a body that is text but not JSON is FastAPI's 422 ``json_invalid``."""
    issue = {"loc": ["body"], "msg": "the body is not JSON (UTF-8)", "type": "json_invalid"}
    return JSONResponse(status_code=422, content={"detail": [issue]})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
        return unparsable_body()
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
