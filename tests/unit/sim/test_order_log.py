"""The simulator's order-command log: accepted places by tag, refusals (429) and the
densest 1 s window, as the execution trials read them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.orderlog import OrderLog
from quant.sim.server import SimServer

RELIANCE = "NSE_EQ|INE002A01018"
START = datetime(2026, 11, 24, 9, 15, 30, tzinfo=IST)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    cfg = SimConfig(start=START, speed=1.0, step_interval=3600.0, ping_interval=None)
    async with SimServer(cfg) as server:
        await asyncio.sleep(0.2)
        yield server


def _limit_buy(sim: SimServer, tag: str) -> dict[str, object]:
    """A LIMIT BUY at the lower circuit limit: far below the market, it rests open."""
    m = sim.market
    low = int(m.circuit_lo[sim.state.universe.index_of[RELIANCE]])
    return {
        "instrument_token": RELIANCE,
        "quantity": 1,
        "product": "I",
        "validity": "DAY",
        "price": low / 100,
        "order_type": "LIMIT",
        "transaction_type": "BUY",
        "trigger_price": 0,
        "tag": tag,
    }


async def test_the_log_records_places_cancels_and_rate_limit_refusals(sim: SimServer) -> None:
    headers = {"Authorization": f"Bearer {sim.mint_token()}"}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as http:
        answers = await asyncio.gather(
            *(http.post("/v3/order/place", json=_limit_buy(sim, f"t{i}")) for i in range(12))
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] * 10 + [429] * 2
        placed = [r.json()["data"]["order_ids"][0] for r in answers if r.status_code == 200]
        await asyncio.sleep(1.1)
        cancel = await http.delete("/v3/order/cancel", params={"order_id": placed[0]})
        assert cancel.status_code == 200
        bad = await http.post("/v3/order/place", json={**_limit_buy(sim, "t-bad"), "quantity": 0})
        assert bad.status_code == 400

    log = sim.state.order_log
    assert log.refused(429) == 2
    assert log.refused(400) == 1
    by_tag = log.accepted_places_by_tag()
    assert sum(by_tag.values()) == 10 and set(by_tag.values()) == {1}
    refused_tags = {e.tag for e in log.entries if e.status == 429}
    assert len(refused_tags) == 2 and not refused_tags & set(by_tag)
    assert log.max_in_window(1.0) == 12  # every attempt counts
    assert log.max_in_window(1.0, accepted_only=True) == 10
    cancels = [e for e in log.entries if e.command == "cancel"]
    assert len(cancels) == 1 and cancels[0].order_ids == (placed[0],)
    assert cancels[0].tag == sim.state.engine.orders[placed[0]].tag


def test_max_in_window_is_a_sliding_window() -> None:
    now = iter([0.0, 0.5, 0.99, 1.0, 1.2, 3.0])
    log = OrderLog(now=lambda: next(now))
    for _ in range(6):
        log.record("place", "u", 200, tag="x")
    assert log.max_in_window(1.0) == 4  # 0.5 .. 1.2 (0.0 is a full second before 1.0)
    assert log.max_in_window(0.1) == 2
    assert log.accepted_places_by_tag() == {"x": 6}


async def test_a_client_that_dies_mid_request_is_logged_not_raised(sim: SimServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    head = (
        "POST /v3/order/place HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {sim.mint_token()}\r\nContent-Length: 500\r\n\r\n"
    )
    writer.write(head.encode() + b'{"instrument_token": ')  # the body never arrives in full
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.transport.abort()
    for _ in range(50):
        if sim.state.order_log.entries:
            break
        await asyncio.sleep(0.02)
    (entry,) = sim.state.order_log.entries
    assert (entry.command, entry.status) == ("place", 499)
    assert not sim.state.engine.orders
    del reader
