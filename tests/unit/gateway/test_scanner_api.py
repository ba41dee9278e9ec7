"""``GET /api/v1/scanner/suggestions`` on the embedded tick store: the latest cycle."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import httpx
import pytest

from quant.core.clock import IST, datetime_to_ns
from quant.core.events import ScannerSuggestion
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.store.columns import suggestion_batch
from quant.store.ports import StoreError
from quant.store.sqlite_ticks import SqliteTickStore

URL = "/api/v1/scanner/suggestions"
NAMES = ("orb", "high_dist", "rel_volume", "rel_strength", "gap", "vwap_dist", "roc", "contraction")
CYCLE_1 = datetime_to_ns(datetime(2026, 12, 8, 10, 20, tzinfo=IST))
CYCLE_2 = datetime_to_ns(datetime(2026, 12, 8, 10, 25, tzinfo=IST))


def _pick(ts: int, rank: int, symbol: str, price: int, score: float) -> ScannerSuggestion:
    values = (1.0, -0.004, 3.1, 0.018, 0.002, 0.006, 0.011, float("nan"))
    return ScannerSuggestion(
        f"NSE_EQ|{symbol}",
        symbol,
        ts,
        rank,
        score,
        ("0.4% below the 20-day high", "relative volume 3.1x for 10:25", "+1.8% vs NIFTY"),
        price,
        signals=tuple(zip(NAMES, values, strict=True)),
    )


@pytest.fixture
def store() -> Iterator[SqliteTickStore]:
    s = SqliteTickStore(":memory:").open()
    yield s
    s.close()


def _client(history: object) -> httpx.AsyncClient:
    ports = GatewayPorts(LiveMarketState(), InstrumentIndex.build([]), history=history)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(GatewaySettings(), ports))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def client(store: SqliteTickStore) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(store) as c:
        yield c


async def test_no_cycle_yet_is_an_empty_list(client: httpx.AsyncClient) -> None:
    r = await client.get(URL)
    assert r.status_code == 200
    assert r.json() == {"ts": None, "suggestions": []}


async def test_the_latest_cycle_by_rank_with_reasons_and_signals(
    client: httpx.AsyncClient, store: SqliteTickStore
) -> None:
    store.write(suggestion_batch([_pick(CYCLE_1, 1, "OLD", 10_000, 9.0)]))
    store.write(
        suggestion_batch(
            [
                _pick(CYCLE_2, 2, "INFY", 180_005, 1.5),
                _pick(CYCLE_2, 1, "RELIANCE", 154_390, 2.41),
                _pick(CYCLE_2, 3, "TCS", 400_000, 1.2),
            ]
        )
    )
    body = (await client.get(URL)).json()
    assert body["ts"] == "2026-12-08T10:25:00+05:30"
    assert [s["trading_symbol"] for s in body["suggestions"]] == ["RELIANCE", "INFY", "TCS"]
    best = body["suggestions"][0]
    assert best == {
        "rank": 1,
        "instrument_key": "NSE_EQ|RELIANCE",
        "trading_symbol": "RELIANCE",
        "score": pytest.approx(2.41),
        "last_price": "1543.90",
        "reasons": [
            "0.4% below the 20-day high",
            "relative volume 3.1x for 10:25",
            "+1.8% vs NIFTY",
        ],
        "signals": {
            "orb": 1.0,
            "high_dist": -0.004,
            "rel_volume": 3.1,
            "rel_strength": 0.018,
            "gap": 0.002,
            "vwap_dist": 0.006,
            "roc": 0.011,
            "contraction": None,  # NaN: unknown
        },
    }
    two = (await client.get(URL, params={"limit": 2})).json()
    assert [s["rank"] for s in two["suggestions"]] == [1, 2]


async def test_limit_is_checked_and_a_store_down_is_503(client: httpx.AsyncClient) -> None:
    for bad in ("0", "101", "x"):
        assert (await client.get(URL, params={"limit": bad})).status_code == 422, bad

    class Down:
        def latest_suggestions(self, limit: int = 20) -> list[ScannerSuggestion]:
            raise StoreError("QuestDB query failed: connection refused")

    async with _client(Down()) as down:
        r = await down.get(URL)
    assert r.status_code == 503
    assert "connection refused" not in r.text
    async with _client(None) as none:
        assert (await none.get(URL)).status_code == 503


async def test_openapi_documents_the_suggestions_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"]["/api/v1/scanner/suggestions"]["get"]
    assert {"200", "422", "503"} <= set(op["responses"])
    (limit,) = op["parameters"]
    assert limit["schema"]["maximum"] == 100
    assert limit["schema"]["minimum"] == 1
    assert len(spec["components"]["schemas"]["SuggestionsOut"]["examples"]) == 2
