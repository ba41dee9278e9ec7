"""Circuit limits against the simulator, composed as ``quant up`` composes the execution
service (its market, its token, ``execution_settings``), for both brokers.

Right after the start, before any tick (nothing feeds ticks here), a manual LIMIT order
inside the simulator's circuit limits is accepted (the REST full quote seeded the risk
quote), and one priced a tick above the upper circuit limit is refused ``PRICE_BAND`` by
the engine itself (422), never reaching the broker; the limits were fetched once, without
failures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from execution_kit import running
from quant.bus.inprocess import InProcessBus
from quant.core.clock import SystemClock
from quant.execution.main import build
from quant.execution.service import ExecutionService
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.up.market import Market, open_market
from quant.up.platform import execution_settings, free_port
from quant.up.settings import UpSettings
from quant.upstox.config import RestConfig
from quant.upstox.rest import UpstoxRestClient
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher
from quant.users.roles import Role

pytestmark = pytest.mark.integration

RELIANCE = "NSE_EQ|INE002A01018"


@contextlib.asynccontextmanager
async def _execution(
    settings: UpSettings, market: Market, store: SqliteRelationalStore
) -> AsyncIterator[tuple[ExecutionService, str, CollectorRegistry]]:
    registry = CollectorRegistry()
    deps = Deps(
        clock=market.clock,
        registry=registry,
        board=StatusBoard(registry),
        bus=InProcessBus(),
        instruments=FixedCatalog(market.instruments, market.description),
        relational=store,
        token=market.token,
    )
    port = free_port()
    service = build(execution_settings(settings, market, port), deps)
    async with running(service, ready_timeout_s=30, stop_timeout_s=15):
        yield service, f"http://127.0.0.1:{port}", registry


@pytest.mark.parametrize("broker", ["upstox", "paper"])
async def test_an_order_beyond_the_sims_circuit_limit_is_refused_price_band(
    tmp_path: Path, broker: str
) -> None:
    settings = UpSettings(data_dir=tmp_path, broker=broker)  # type: ignore[arg-type]
    async with open_market(settings, SystemClock()) as market:
        config = RestConfig(api_base=market.upstox.api_base, hft_base=market.upstox.hft_base)
        async with UpstoxRestClient(market.token, config) as rest:
            quote = (await rest.full_quotes([RELIANCE]))[RELIANCE]
        assert 0 < quote.lower_circuit < quote.last_price < quote.upper_circuit
        inst = next(i for i in market.instruments if i.instrument_key == RELIANCE)
        tick = inst.tick_size_paise
        store = SqliteRelationalStore().open()
        key = UserDirectory(store, Argon2Hasher()).create_user("tara", Role.TRADER).text
        try:
            async with (
                _execution(settings, market, store) as (service, url, registry),
                httpx.AsyncClient(
                    base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10
                ) as http,
            ):

                def order(price: int) -> dict[str, object]:
                    return {
                        "instrument_key": RELIANCE,
                        "side": "BUY",
                        "quantity": 1,
                        "order_type": "LIMIT",
                        "product": "I",
                        "price": f"{price // 100}.{price % 100:02d}",
                    }

                inside = quote.last_price * 98 // 100 // tick * tick
                ok = await http.post("/v1/orders", json=order(inside))
                assert ok.status_code == 201, ok.text  # no tick yet: the REST quote is used
                above = quote.upper_circuit + tick
                refused = await http.post("/v1/orders", json=order(above))
                assert refused.status_code == 422, refused.text
                assert refused.json()["detail"]["code"] == "PRICE_BAND"
                assert "circuit" in refused.json()["detail"]["message"]

                orders = (await http.get("/v1/orders")).json()
                assert [o["reason"] for o in orders] == ["PRICE_BAND", ""]
                assert orders[0]["broker_order_id"] == ""  # never sent

                # a MARKET order fills without any tick (paper: on the REST quote's depth)
                market = {**order(0), "order_type": "MARKET"}
                del market["price"]
                bought = await http.post("/v1/orders", json=market)
                assert bought.status_code == 201, bought.text
                cid = bought.json()["client_order_id"]

                async def status(c: str) -> str:
                    rows = (await http.get("/v1/orders")).json()
                    return str(next(o["status"] for o in rows if o["client_order_id"] == c))

                for _ in range(100):
                    state = await status(cid)
                    if state == "FILLED":
                        break
                    await asyncio.sleep(0.1)
                assert state == "FILLED", state

                # the REST quote is now stale (5 s) and no tick comes: a flatten still
                # closes the position (its quote is fetched again)
                await asyncio.sleep(6)
                kill = await http.post("/v1/killswitch", json={"action": "flatten"})
                assert kill.status_code == 200, kill.text
                flat = False
                for _ in range(100):
                    positions = (await http.get("/v1/positions")).json()
                    flat = all(p["quantity"] == 0 for p in positions)
                    if flat:
                        break
                    await asyncio.sleep(0.1)
                closing = (await http.get("/v1/orders?limit=1")).json()[0]
                assert flat, (positions, closing)
                assert closing["reason"] == "FLATTEN" and closing["status"] == "FILLED"
                failures = registry.get_sample_value("quant_execution_quote_fetch_failures_total")
                assert failures == 0.0
                assert service.engine is not None
        finally:
            store.close()
