"""``/docs`` without the internet: the Swagger UI served from this package, not a CDN.

FastAPI's default ``/docs`` page loads Swagger UI's JavaScript and CSS from a CDN, so on a
machine without internet access (or behind a strict proxy) it is a blank page. The
Swagger UI distribution files (``swagger-ui-dist``, Apache-2.0: its LICENSE and NOTICE sit
beside them) are vendored under ``static/swagger-ui`` and served at
``/static/swagger-ui``; :func:`install` adds the ``/docs`` page that points at them
(prefixed with the ASGI ``root_path`` when served behind a proxy). ReDoc, which would need
another CDN bundle, is not offered.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static"
SWAGGER = f"{STATIC_URL}/swagger-ui"


def install(app: FastAPI) -> None:
    """Serve ``/static`` and ``/docs`` (create the app with ``docs_url=None``)."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} - API docs"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=title,
            swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
            # no online spec validator: nothing /docs shows may come from the internet
            swagger_ui_parameters={"validatorUrl": None},
        )
