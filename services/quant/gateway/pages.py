"""Server-rendered pages of the gateway: templates shipped in the package, no CDN.

The HTML lives in ``templates/`` beside this module and the stylesheet in
``static/css/app.css`` (served at ``/static``, :mod:`quant.gateway.docs`); both are in
the wheel (``package-data``). :func:`render` fills a template's ``$name`` placeholders
with HTML-escaped values and adds headers that keep the pages from being framed,
cached or fed scripts from elsewhere. Used by :mod:`quant.gateway.login`.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template

from fastapi.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(
    name: str,
    *,
    status: int = 200,
    markup: dict[str, str] | None = None,
    **values: str,
) -> HTMLResponse:
    """The page ``name`` with ``values`` escaped (``markup``: trusted HTML, inserted as is)."""
    fields = {k: html.escape(v, quote=True) for k, v in values.items()} | (markup or {})
    body = _template(name).substitute(fields)
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)
