"""Instrument master fault hooks: serve substituted rows, serve slowly, restore."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

START = datetime(2026, 11, 24, 9, 20, tzinfo=IST)
NSE = "/market-quote/instruments/exchange/NSE.json.gz"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(SimConfig(start=START, step_interval=0.5)) as server:
        yield server


async def _rows(http: httpx.AsyncClient, path: str = NSE) -> list[dict[str, object]]:
    response = await http.get(path)
    assert response.status_code == 200
    rows: list[dict[str, object]] = json.loads(gzip.decompress(response.content))
    return rows


async def test_serve_master_substitutes_one_file_and_restore_brings_it_back(
    sim: SimServer,
) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        full = await _rows(http)
        assert full == sim.state.universe.exchange_rows("NSE")
        sim.serve_master("NSE", full[:10])
        assert await _rows(http) == full[:10]
        bse = await _rows(http, NSE.replace("NSE", "BSE"))
        assert bse == sim.state.universe.exchange_rows("BSE")  # the other file is untouched
        sim.restore_master()
        assert await _rows(http) == full


async def test_slow_master_streams_the_file_in_chunks_with_pauses(sim: SimServer) -> None:
    body = sim.state.master_gz("NSE")
    assert len(body) > 2 * 64 * 1024
    sim.slow_master(0.05)
    sizes: list[int] = []
    async with (
        httpx.AsyncClient(base_url=sim.base_url) as http,
        http.stream("GET", NSE) as response,
    ):
        async for chunk in response.aiter_raw():
            sizes.append(len(chunk))
    assert sum(sizes) == len(body)
    assert len(sizes) >= len(body) // (64 * 1024)  # delivered piecemeal, not in one write
