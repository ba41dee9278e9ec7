"""``quant up --source upstox`` keeps serving through a feed 401, a 403 and a stalled feed.

The simulator plays Upstox in this test's process (on its own thread and event loop, so
the test can pull its fault switches); ``quant up --source upstox`` runs as a separate
process pointed at it exactly as a user points it at Upstox (base URLs, CA file, token
file). Throughout, a poller hits the REST API every 0.2 s and records every answer: the
API must never be down, whatever the feed does. Each fault must end with fresh quotes
again (``as_of_ns`` advancing) without a restart of ``quant up``:

* **401**: every token revoked and the feed dropped; the ingestor waits for a new token,
  ``/readyz`` says so, the quotes stop advancing; a new token written to the token file
  (as ``quant auth login`` or a rotated Secret would) is picked up and data flows again;
* **403**: the next handshakes refused with "too many connections" and the feed dropped;
  the client backs off and reconnects;
* **stall**: the feed goes silent (no data, no pings); the client notices the silence and
  reconnects, and the simulator's connection count stays true (no 403 afterwards).

The measured detection and recovery times are printed (``pytest -s``) for
docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from e2e_kit import free_port, stretched

from quant.core.clock import IST
from quant.sim.config import SimConfig, default_start
from quant.sim.server import SimServer
from quant.sim.tls import write_self_signed

# imported here, not first on the simulator's thread: CPython 3.11 can fail compiling
# (AST recursion depth mismatch) when two threads import uncompiled modules at once
assert write_self_signed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

T = TypeVar("T")
QUANT = [sys.executable, "-m", "quant.cli"]
SYMBOL = "RELIANCE"


class ThreadedSim:
    """A :class:`SimServer` on its own thread; :meth:`call` runs a hook on its loop."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._sim: SimServer | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="sim", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as e:  # surfaced by start()
            self._error = e
            self._started.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with SimServer(self._config) as sim:
            self._sim = sim
            self._started.set()
            await self._stop.wait()

    def start(self) -> SimServer:
        self._thread.start()
        self._started.wait(30)
        if self._sim is None:
            raise RuntimeError(f"the simulator did not start: {self._error!r}")
        return self._sim

    def call(self, fn: Callable[[SimServer], T]) -> T:
        sim = self._sim
        assert sim is not None

        async def run() -> T:
            return fn(sim)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if not self._thread.is_alive():
            self._loop.close()


@dataclass
class Poller:
    """Polls the quote and /readyz every 0.2 s on a thread; keeps every answer."""

    base: str
    answers: list[tuple[float, int | None, dict[str, Any] | None]] = field(default_factory=list)
    ready: list[tuple[float, int | None, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=2.0) as http:
            while not self._stop.is_set():
                now = time.monotonic()
                try:
                    r = http.get(f"/api/v1/market/quote/{SYMBOL}")
                    body = r.json() if r.status_code == 200 else None
                    self.answers.append((now, r.status_code, body))
                except httpx.HTTPError:
                    self.answers.append((now, None, None))
                try:
                    rz = http.get("/readyz")
                    self.ready.append((now, rz.status_code, rz.text))
                except httpx.HTTPError:
                    self.ready.append((now, None, ""))
                self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def newest_as_of(self) -> int:
        for _, status, body in reversed(self.answers):
            if status == 200 and body is not None:
                return int(body["as_of_ns"])
        return 0

    def advancing_after(self, since: float, as_of_ns: int, budget: float) -> float:
        """Seconds from ``since`` to the first quote newer than ``as_of_ns``."""
        deadline = since + budget
        while time.monotonic() < deadline:
            for t, status, body in list(self.answers):
                if t >= since and status == 200 and body and int(body["as_of_ns"]) > as_of_ns:
                    return t - since
            time.sleep(0.1)
        raise AssertionError(f"quotes did not advance within {budget:.0f} s")

    def not_ready_after(self, since: float, words: str, budget: float) -> float:
        deadline = since + budget
        while time.monotonic() < deadline:
            for t, status, text in list(self.ready):
                if t >= since and status == 503 and words in text:
                    return t - since
            time.sleep(0.1)
        raise AssertionError(f"/readyz never said {words!r} within {budget:.0f} s")


@pytest.fixture(name="sim")
def sim_fixture() -> Iterator[ThreadedSim]:
    start = default_start(datetime.now(IST).date()) + timedelta(minutes=2)
    threaded = ThreadedSim(SimConfig(tls=True, start=start, step_interval=0.25))
    threaded.start()
    try:
        yield threaded
    finally:
        threaded.close()


def test_quant_up_serves_through_a_401_a_403_and_a_stall(sim: ThreadedSim, tmp_path: Path) -> None:
    server = sim.call(lambda s: s)
    assert server.ca_file is not None
    token_file = tmp_path / "upstox-token"  # a bare token, as a mounted Secret holds it
    token_file.write_text(sim.call(lambda s: s.mint_token()))
    token_file.chmod(0o600)
    base = server.base_url
    port = free_port()
    env = {
        **os.environ,
        "QUANT_UPSTOX__API_BASE": base,
        "QUANT_UPSTOX__HFT_BASE": base,
        "QUANT_UPSTOX__ASSETS_BASE": base,
        "QUANT_UPSTOX__CA_FILE": str(server.ca_file),
        "QUANT_UPSTOX__TOKEN_FILE": str(token_file),
        "QUANT_TOKEN_REREAD_S": "0.5",
        "QUANT_DATA_DIR": str(tmp_path / "data"),
        "QUANT_LOG_LEVEL": "INFO",
    }
    env.pop("QUANT_SOURCE", None)
    log_path = tmp_path / "up.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [*QUANT, "up", "--source", "upstox", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    poller = Poller(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + stretched(30.0)
        with httpx.Client(base_url=poller.base, timeout=2.0) as http:
            while True:
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, f"no quote:\n{log_path.read_text()}"
                try:
                    if http.get(f"/api/v1/market/quote/{SYMBOL}").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        first = time.monotonic()
        poller.start()
        poller.advancing_after(first, poller.newest_as_of(), stretched(10.0))
        times: dict[str, float] = {}

        # 401: the token is revoked and the socket dropped
        t0 = time.monotonic()
        sim.call(lambda s: s.expire_tokens())
        sim.call(lambda s: s.drop_feeds())
        times["401 detected (readyz)"] = poller.not_ready_after(t0, "token", stretched(15.0))
        time.sleep(1.0)
        frozen = poller.newest_as_of()
        time.sleep(1.0)
        assert poller.newest_as_of() == frozen, "quotes advanced on a revoked token"
        t1 = time.monotonic()
        token_file.write_text(sim.call(lambda s: s.mint_token()))
        times["401 recovered after the new token"] = poller.advancing_after(
            t1, frozen, stretched(15.0)
        )

        # 403: the next three handshakes say "too many connections"
        t0 = time.monotonic()
        before = poller.newest_as_of()
        sim.call(lambda s: s.refuse_feeds(403, count=3))
        sim.call(lambda s: s.drop_feeds())
        times["403 x3 recovered"] = poller.advancing_after(t0 + 0.5, before, stretched(20.0))

        # stall: the feed goes silent; the client must notice and reconnect
        t0 = time.monotonic()
        sim.call(lambda s: s.silence_feeds())
        time.sleep(1.0)
        stalled = poller.newest_as_of()
        times["stall recovered"] = poller.advancing_after(t0, stalled, stretched(30.0))
        assert sim.call(lambda s: len(s.feed_hub.conns)) <= 1

        assert proc.poll() is None, log_path.read_text()
        poller.stop()
        down = [a for a in poller.answers if a[1] is None or a[1] >= 500]
        assert not down, f"the REST API failed {len(down)} of {len(poller.answers)} times"
        stamps = [t for t, _, _ in poller.answers]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert stamps[0] - first < 1.0 and stamps[-1] >= t0, "the poller did not run throughout"
        assert max(gaps) < stretched(3.0), f"the REST API did not answer for {max(gaps):.1f} s"
        print(f"quant up under feed faults: {len(stamps)} answers, longest gap {max(gaps):.2f} s")
        for what, seconds in times.items():
            print(f"quant up under feed faults: {what}: {seconds:.2f} s")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=stretched(15.0))
    finally:
        poller.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    output = log_path.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert token_file.read_text() not in output
