"""Benchmark: the simulator's historical candles, and its master and quotes at NSE EQ size.

In process (``create_app`` through ``httpx.ASGITransport``, no sockets, rate limits off),
on a fixed seed and start (2026-11-24 09:20 IST):

1. one month of 1-minute candles per symbol (``/v3/historical-candle/{key}/minutes/1``),
   first request per symbol (cold: nothing cached for that symbol) and the same request
   again (warm), over ``--symbols`` synthetic NSE equities;
2. one year of daily candles per symbol, cold;
3. with ``--equities`` synthetic names (default 2150, ~2,200 NSE EQ rows): building the
   master, the gzipped NSE file, and full market quotes for every NSE EQ key in requests
   of 500 keys.

Prints the median CPU ms per request (process time: the machine may be shared) and the
JSON size. For a side-by-side reference, run it again against another checkout:
``PYTHONPATH=<checkout>/services python bench/bench_sim_history.py``.
Run: ``python bench/bench_sim_history.py [--symbols 20] [--equities 2150]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime
from urllib.parse import quote

import httpx

from quant.core.clock import IST
from quant.sim.app import create_app
from quant.sim.config import SimConfig
from quant.sim.master import build_universe
from quant.sim.state import SimState

START = datetime(2026, 11, 24, 9, 20, tzinfo=IST)


def _eq_keys(state: SimState, count: int) -> list[str]:
    rows = state.universe.rows
    keys = [str(r["instrument_key"]) for r in rows if r.get("instrument_type") == "EQ"]
    return keys[50 : 50 + count] if count else keys


async def _timed_gets(client: httpx.AsyncClient, paths: list[str]) -> tuple[float, int]:
    """Median CPU seconds per request (process time: the machine may be shared) and
    total body bytes."""
    size = 0
    times = []
    for path in paths:
        started = time.process_time()
        resp = await client.get(path)
        times.append(time.process_time() - started)
        assert resp.status_code == 200, resp.text[:300]
        size += len(resp.content)
    return statistics.median(times), size


async def history(symbols: int) -> None:
    state = SimState(SimConfig(seed=11, start=START, rate_limits=False))
    state.market.step()
    app = create_app(state)
    keys = _eq_keys(state, symbols)
    minute = [
        f"/v3/historical-candle/{quote(k, safe='')}/minutes/1/2026-11-23/2026-10-24" for k in keys
    ]
    daily = [
        f"/v3/historical-candle/{quote(k, safe='')}/days/1/2026-11-23/2025-11-24" for k in keys
    ]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await client.get(daily[0])  # warm imports / first-route costs
        cold, size = await _timed_gets(client, minute[1:])
        warm, _ = await _timed_gets(client, minute[1:])
        day_cold, _ = await _timed_gets(client, daily[1:])
    n = len(minute) - 1
    print(f"1-minute candles, one month, {n} symbols:")
    print(f"  cold  {cold * 1e3:8.1f} ms/request   ({size / n / 1e6:.2f} MB JSON each)")
    print(f"  warm  {warm * 1e3:8.1f} ms/request")
    print(f"daily candles, one year, cold: {day_cold * 1e3:8.1f} ms/request")


async def big_master(equities: int) -> None:
    config = SimConfig(seed=11, start=START, rate_limits=False, extra_equities=equities)
    t0 = time.process_time()
    build_universe(config, START.date())
    t1 = time.process_time()
    state = SimState(config)
    t2 = time.process_time()
    state.market.step()
    t3 = time.process_time()
    gz = state.master_gz("NSE")
    t4 = time.process_time()
    keys = _eq_keys(state, 0)
    app = create_app(state)
    headers = {"Authorization": f"Bearer {state.tokens.mint()}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.process_time()
        got = 0
        for i in range(0, len(keys), 500):
            resp = await client.get(
                "/v3/market-quote/quotes",
                params={"instrument_key": ",".join(keys[i : i + 500])},
                headers=headers,
            )
            assert resp.status_code == 200, resp.text[:300]
            got += len(resp.json()["data"])
        quotes = time.process_time() - started
        one = f"/v3/historical-candle/{quote(keys[-1], safe='')}/minutes/1/2026-11-23/2026-10-24"
        t5 = time.process_time()
        resp = await client.get(one)
        hist = time.process_time() - t5
        assert resp.status_code == 200 and resp.json()["data"]["candles"]
    print(
        f"master with {equities} synthetic names: {len(keys)} NSE EQ keys, "
        f"{len(state.universe)} rows"
    )
    print(
        f"  build universe {(t1 - t0) * 1e3:8.1f} ms   state {(t2 - t1) * 1e3:8.1f} ms   "
        f"first step {(t3 - t2) * 1e3:8.1f} ms   NSE.json.gz {(t4 - t3) * 1e3:8.1f} ms "
        f"({len(gz) / 1e6:.1f} MB)"
    )
    print(
        f"  full quotes for {got} keys in {(len(keys) + 499) // 500} requests: "
        f"{quotes * 1e3:8.1f} ms"
    )
    print(f"  one month of 1-minute candles for the last name: {hist * 1e3:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--equities", type=int, default=2150)
    args = parser.parse_args()
    asyncio.run(history(args.symbols))
    asyncio.run(big_master(args.equities))


if __name__ == "__main__":
    main()
