"""Benchmark: what an API key costs a request, with and without the verified-key cache.

On the real gateway app (``create_app``, in process through ``httpx.ASGITransport``) over
the embedded SQLite store, with argon2id at the defaults ``quant up`` and ``quant users``
use (3 passes, 64 MiB, 4 lanes), one request at a time, side by side in one run:

1. ``GET /bench/open``, an async route added for the run that answers the same body as
   ``/api/v1/me`` without asking for a key: the reference, the app without authentication;
2. ``GET /api/v1/me`` with a viewer key, cache on (``key_cache_s`` 60, the default): a
   steady client after its first request;
3. ``GET /api/v1/me``, cache off (``key_cache_s`` 0): an argon2id verification per request.

Prints requests/s and mean ms per request, and the ratios to the reference.
Run: ``python bench/bench_api_keys.py [--requests 400] [--uncached 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher
from quant.users.roles import Role


async def _rate(app: object, path: str, headers: dict[str, str], n: int) -> float:
    """Seconds per request over ``n`` sequential requests (after one warm-up)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        first = await client.get(path, headers=headers)
        assert first.status_code == 200, first.text
        started = time.perf_counter()
        for _ in range(n):
            resp = await client.get(path, headers=headers)
            assert resp.status_code == 200
        return (time.perf_counter() - started) / n


async def main(requests: int, uncached: int) -> None:
    store = SqliteRelationalStore(":memory:").open()
    hasher = Argon2Hasher()
    key = UserDirectory(store, hasher).create_user("bench", Role.VIEWER).text
    bearer = {"Authorization": f"Bearer {key}"}

    def app(cache_s: float) -> object:
        directory = UserDirectory(store, hasher, cache_s=cache_s)
        ports = GatewayPorts(LiveMarketState(), InstrumentIndex.build([]), users=directory)
        gateway = create_app(GatewaySettings(), ports)

        @gateway.get("/bench/open")
        async def open_route() -> dict[str, str]:
            return {"user": "bench", "role": "viewer"}

        return gateway

    reference = await _rate(app(60.0), "/bench/open", {}, requests)
    cached = await _rate(app(60.0), "/api/v1/me", bearer, requests)
    argon = await _rate(app(0.0), "/api/v1/me", bearer, uncached)
    store.close()
    rows = [
        ("/bench/open (no key, reference)", reference),
        ("/api/v1/me, key cache on", cached),
        ("/api/v1/me, key cache off (argon2id)", argon),
    ]
    for name, per in rows:
        print(
            f"{name:<40} {1 / per:9.0f} req/s  {per * 1e3:8.3f} ms/req  "
            f"x{per / reference:6.2f} of the reference"
        )
    print(f"the cache makes a keyed request {argon / cached:.0f}x cheaper")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--uncached", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.uncached))
