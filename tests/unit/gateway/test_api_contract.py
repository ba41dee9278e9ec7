"""The gateway's contract: errors as documented, control characters refused, greeks per
expiry (and said plainly when options are not subscribed), ``/docs`` without a CDN."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from quant.core.events import FeedMode, OptionGreeks, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.errors import ErrorOut, ValidationErrorOut
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[3]
NIFTY = Instrument(
    "NSE_INDEX|Nifty 50", "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
)
REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip
NEAR, FAR = date(2026, 12, 8), date(2026, 12, 15)


def _option(token: str, kind: InstrumentType, strike: int, expiry: date) -> Instrument:
    return Instrument(
        f"NSE_FO|{token}",
        f"NIFTY {strike} {kind.value} {expiry:%d %b %y}".upper(),
        "NIFTY",
        "NSE",
        "NSE_FO",
        kind,
        lot_size=75,
        expiry=expiry,
        strike_paise=strike * 100,
        underlying_key=NIFTY.instrument_key,
    )


CE_NEAR = _option("1", InstrumentType.CALL, 25000, NEAR)
PE_NEAR = _option("2", InstrumentType.PUT, 25000, NEAR)
CE_FAR = _option("3", InstrumentType.CALL, 25000, FAR)
T0 = 1_796_000_000_000_000_000


def _greeks(inst: Instrument) -> OptionGreeks:
    return OptionGreeks(inst.instrument_key, T0, T0, 12_050, 0.14, 0.5, 4e-4, -9.1, 12.3, 1.0)


@pytest.fixture
def state() -> LiveMarketState:
    return LiveMarketState()


@pytest.fixture
async def client(state: LiveMarketState) -> AsyncIterator[httpx.AsyncClient]:
    index = InstrumentIndex.build([NIFTY, REL, CE_NEAR, PE_NEAR, CE_FAR])
    app = create_app(GatewaySettings(), GatewayPorts(market=state, instruments=index))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


Client = httpx.AsyncClient
GREEKS = "/api/v1/market/greeks/NIFTY"


# --- greeks ---------------------------------------------------------------------------


async def test_an_underlying_whose_options_are_not_subscribed_is_a_plain_404(
    client: Client, state: LiveMarketState
) -> None:
    state.apply(Tick(NIFTY.instrument_key, FeedMode.FULL, T0, T0, 2_500_000))
    r = await client.get(GREEKS)
    assert r.status_code == 404
    detail = ErrorOut.model_validate(r.json()).detail
    assert "options on NIFTY of any expiry are not subscribed" in detail
    assert "OPTIONS:NIFTY" in detail
    r = await client.get(GREEKS, params={"expiry": str(FAR)})
    assert r.status_code == 404
    assert f"expiring on {FAR} are not subscribed" in r.json()["detail"]


async def test_the_chain_is_the_nearest_expiry_with_data_and_only_options_with_data(
    client: Client, state: LiveMarketState
) -> None:
    state.apply(_greeks(CE_FAR))
    body = (await client.get(GREEKS)).json()
    assert body["expiry"] == str(FAR)
    assert [o["instrument_key"] for o in body["options"]] == [CE_FAR.instrument_key]
    state.apply(_greeks(CE_NEAR))
    body = (await client.get(GREEKS)).json()
    assert body["expiry"] == str(NEAR)
    # PE_NEAR has no data: no row of nulls for it
    assert [o["instrument_key"] for o in body["options"]] == [CE_NEAR.instrument_key]
    assert body["options"][0]["upstox"]["iv"] == pytest.approx(0.14)


async def test_expiry_selects_the_chain(client: Client, state: LiveMarketState) -> None:
    state.apply(_greeks(CE_NEAR))
    state.apply(_greeks(CE_FAR))
    body = (await client.get(GREEKS, params={"expiry": str(FAR)})).json()
    assert body["expiry"] == str(FAR)
    assert [o["instrument_key"] for o in body["options"]] == [CE_FAR.instrument_key]
    r = await client.get(GREEKS, params={"expiry": "2027-01-01"})
    assert r.status_code == 404
    assert f"no NIFTY options expire on 2027-01-01; expiries: {NEAR}, {FAR}" in r.json()["detail"]
    r = await client.get(GREEKS, params={"expiry": "next week"})
    assert r.status_code == 422
    assert ValidationErrorOut.model_validate(r.json()).detail[0].loc == ["query", "expiry"]
    # an option has one expiry: another one is a mistake, said as such
    option = f"/api/v1/market/greeks/{CE_NEAR.instrument_key}"
    assert (await client.get(option, params={"expiry": str(NEAR)})).status_code == 200
    r = await client.get(option, params={"expiry": str(FAR)})
    assert r.status_code == 422
    assert "is an option expiring on" in r.json()["detail"][0]["msg"]


# --- control characters and echoes ------------------------------------------------------

CONTROL = [chr(c) for c in (*range(0x20), 0x7F)]


async def test_control_characters_are_422_on_every_parameter(client: Client) -> None:
    for raw in CONTROL:
        c = quote(raw)  # in a path, percent-encoded (httpx refuses raw control characters)
        requests: list[tuple[str, dict[str, str] | None]] = [
            (f"/api/v1/market/quote/REL{c}IANCE", None),
            (f"/api/v1/market/greeks/NIFTY{c}", None),
            (f"/api/v1/market/quote/NSE_EQ|INE{c}002A01018", None),
            (GREEKS, {"expiry": f"2026-12-0{raw}8"}),
            ("/api/v1/instruments/search", {"query": f"REL{raw}"}),
        ]
        if not raw.isspace():  # an int parameter allows surrounding whitespace ("2\t" is 2)
            requests.append(("/api/v1/instruments/search", {"query": "REL", "limit": f"2{raw}"}))
        for url, params in requests:
            r = await client.get(url, params=params)
            assert r.status_code == 422, (url, params, r.status_code)
            ValidationErrorOut.model_validate(r.json())


async def test_undecodable_bytes_are_not_a_500(client: Client) -> None:
    for url in (
        "/api/v1/market/quote/%FF%FE",
        "/api/v1/market/greeks/%C0%80",
        "/api/v1/instruments/search?query=%FF%FE",
        "/api/v1/market/greeks/NIFTY?expiry=%FF",
    ):
        r = await client.get(url)
        assert r.status_code < 500, (url, r.status_code)


async def test_a_422_never_echoes_the_input(client: Client) -> None:
    big = "S3CRET" + "Z" * 20_000
    for url, params in (
        (f"/api/v1/market/quote/{big}", None),
        (f"/api/v1/market/quote/NSE_EQ|{big[:70]}|X", None),
        (GREEKS, {"expiry": big}),
        ("/api/v1/instruments/search", {"query": big}),
        ("/api/v1/instruments/search", {"query": "A", "limit": big}),
    ):
        r = await client.get(url, params=params)
        assert r.status_code == 422, url
        assert len(r.content) < 1000, (url, len(r.content))
        assert "Z" * 100 not in r.text  # at most a bounded excerpt (a key's 80 characters)


# --- OpenAPI ----------------------------------------------------------------------------


def _ref(response: dict[str, Any]) -> str:
    return str(response["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


async def test_openapi_documents_404s_and_the_real_error_shapes(client: Client) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in ("/api/v1/market/quote/{symbol}", "/api/v1/market/greeks/{symbol}"):
        responses = paths[path]["get"]["responses"]
        assert _ref(responses["404"]) == "ErrorOut", path
        assert _ref(responses["422"]) == "ValidationErrorOut", path
    search = paths["/api/v1/instruments/search"]["get"]["responses"]
    assert _ref(search["422"]) == "ValidationErrorOut"
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's default, with input and ctx
    issue = schemas["ValidationIssue"]["properties"]
    assert set(issue) == {"loc", "msg", "type"}
    assert set(schemas["ErrorOut"]["properties"]) == {"detail"}
    params = {p["name"]: p for p in paths["/api/v1/market/greeks/{symbol}"]["get"]["parameters"]}
    assert params["expiry"]["in"] == "query"
    assert {"type": "string", "format": "date"} in params["expiry"]["schema"]["anyOf"]
    assert _ref(paths["/readyz"]["get"]["responses"]["503"]) == "ReadyOut"


async def test_documented_shapes_are_the_returned_ones(client: Client) -> None:
    r = await client.get("/api/v1/market/quote/NOSUCH")
    assert r.status_code == 404
    assert set(r.json()) == set(ErrorOut.model_fields)
    for url in ("/api/v1/market/quote/%3C%3E", "/api/v1/market/quote/FOO|BAR"):
        r = await client.get(url)
        assert r.status_code == 422
        body = r.json()
        assert set(body) == {"detail"}
        for issue in body["detail"]:
            assert set(issue) == {"loc", "msg", "type"}


async def test_metrics_are_documented_and_served_as_text(client: Client) -> None:
    spec = (await client.get("/openapi.json")).json()
    content = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == [CONTENT_TYPE_LATEST]
    assert CONTENT_TYPE_LATEST.startswith("text/plain;")
    assert content[CONTENT_TYPE_LATEST]["schema"] == {"type": "string"}
    r = await client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    assert "# HELP" in r.text or r.text == ""


# --- /docs offline ----------------------------------------------------------------------


async def test_docs_load_only_local_assets(client: Client) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    html = r.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert len(urls) >= 4, urls  # css, favicon, js, openapi
    assert "http" not in html.replace("http-equiv", "")  # no CDN, no absolute URL at all
    # Swagger UI's default spec validator is an online service: switched off
    assert '"validatorUrl": null' in html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    js = await client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert "javascript" in js.headers["content-type"]
    assert "SwaggerUIBundle" in js.text
    assert (await client.get("/redoc")).status_code == 404  # would need a CDN; not offered


async def test_docs_honour_a_proxy_root_path(state: LiveMarketState) -> None:
    app = create_app(GatewaySettings(), GatewayPorts(state, InstrumentIndex.build([])))
    transport = httpx.ASGITransport(app=app, root_path="/gw")
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        html = (await c.get("/docs")).text
    assert '"/gw/static/swagger-ui/swagger-ui-bundle.js"' in html
    assert "'/gw/openapi.json'" in html


def test_swagger_ui_is_vendored_with_its_license_and_packaged() -> None:
    static = ROOT / "services/quant/gateway/static/swagger-ui"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"):
        assert (static / name).is_file(), name
    assert "Apache License" in (static / "LICENSE").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"static/**/*"' in pyproject  # setuptools package-data: the assets ship in wheels
