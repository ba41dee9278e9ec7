"""``run_services``: restarts, fatal errors waited out, siblings untouched, stop order.

The services here are scripted fakes (each run does what the test says); the supervisor,
the status board, its metrics and the health server are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from quant.runtime.service import ConfigurationError, Readiness, is_fatal
from quant.runtime.settings import ServiceSettings
from quant.runtime.status import State, StatusBoard
from quant.runtime.supervisor import Backoff, run_services
from quant.upstox.errors import UpstoxAuthError

FAST = Backoff(initial_s=0.01, max_s=0.05, reset_after_s=60.0)
SETTINGS = ServiceSettings.model_validate({})


class Scripted:
    """Run ``i`` does ``script[i]`` (the last entry repeats): "ok" runs until stop,
    "done" returns at once, an exception is raised after ``delay_s``."""

    def __init__(self, name: str, script: Sequence[str | BaseException], log: list[str]) -> None:
        self.name = name
        self.script = list(script)
        self.runs = 0
        self.log = log
        self.delay_s = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        step = self.script[min(self.runs, len(self.script) - 1)]
        self.runs += 1
        self.log.append(f"{self.name} start {self.runs}")
        if isinstance(step, BaseException):
            await asyncio.sleep(self.delay_s)
            raise step
        if step == "done":
            self.log.append(f"{self.name} done")
            return
        await stop.wait()
        await asyncio.sleep(0.01)  # a flush takes a moment: the next must wait for it
        self.log.append(f"{self.name} stopped")


class NotReadyUntil(Scripted):
    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(name, ["ok"], log)
        self.is_ready = False

    def ready(self) -> Readiness:
        return (True, ()) if self.is_ready else (False, ("no data yet",))


async def _until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)


async def _run(
    services: Sequence[Scripted], board: StatusBoard, stop: asyncio.Event, **kw: object
) -> asyncio.Task[StatusBoard]:
    return asyncio.create_task(
        run_services(
            services,
            SETTINGS,
            board=board,
            stop=stop,
            handle_signals=False,
            configure_logging=False,
            backoff=FAST,
            **kw,  # type: ignore[arg-type]
        )
    )


async def test_a_failing_service_is_restarted_and_its_sibling_never_notices() -> None:
    log: list[str] = []
    registry = CollectorRegistry()
    board = StatusBoard(registry)
    flaky = Scripted("flaky", [RuntimeError("store down"), RuntimeError("still down"), "ok"], log)
    steady = Scripted("steady", ["ok"], log)
    stop = asyncio.Event()
    task = await _run([flaky, steady], board, stop, registry=registry)
    await _until(lambda: flaky.runs == 3 and _state(board, "flaky") is State.RUNNING)
    assert steady.runs == 1 and board.state("steady") is State.RUNNING
    assert board.ready() == (True, [])
    metrics = generate_latest(registry).decode()
    assert 'quant_service_failures_total{kind="retryable",service="flaky"} 2.0' in metrics
    assert 'quant_service_up{service="steady"} 1.0' in metrics
    stop.set()
    await task
    assert board.state("flaky") is State.STOPPED and board.state("steady") is State.STOPPED


async def test_a_service_waiting_out_its_backoff_is_not_ready_and_says_why() -> None:
    log: list[str] = []
    board = StatusBoard()
    broken = Scripted("features", [RuntimeError("questdb refused the write")], log)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_services(
            [broken],
            SETTINGS,
            board=board,
            stop=stop,
            handle_signals=False,
            configure_logging=False,
            backoff=Backoff(initial_s=30.0, max_s=30.0),
        )
    )
    await _until(lambda: _state(board, "features") is State.RESTARTING)
    ok, reasons = board.ready()
    assert not ok
    assert reasons == ["features: failed, restarting (RuntimeError: questdb refused the write)"]
    stop.set()  # a stop during the backoff ends it at once
    async with asyncio.timeout(2.0):
        await task
    assert broken.runs == 1


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("QUANT_UNIVERSE resolves to nothing"),
        UpstoxAuthError("token revoked", status=401),
        ExceptionGroup("feed", [UpstoxAuthError("token expired", status=401)]),
    ],
)
async def test_a_fatal_error_is_reported_once_and_not_retried(error: Exception) -> None:
    log: list[str] = []
    board = StatusBoard()
    fatal = Scripted("ingestor", [error], log)
    gateway = Scripted("gateway", ["ok"], log)
    stop = asyncio.Event()
    task = await _run([fatal, gateway], board, stop)
    await _until(lambda: _state(board, "ingestor") is State.FAILED)
    await asyncio.sleep(0.1)  # ten backoffs' worth: still one run
    assert fatal.runs == 1
    assert board.state("gateway") is State.RUNNING
    ok, reasons = board.ready()
    assert not ok and reasons[0].startswith("ingestor: stopped by a fatal error (")
    stop.set()
    await task
    assert board.state("ingestor") is State.FAILED  # the exit code reports it


async def test_services_stop_one_at_a_time_in_the_order_given() -> None:
    log: list[str] = []
    names = ["ingestor", "features", "gateway"]
    services = [Scripted(n, ["ok"], log) for n in names]
    stop = asyncio.Event()
    board = StatusBoard()
    task = await _run(services, board, stop)
    await _until(lambda: all(s.runs == 1 for s in services))
    stop.set()
    await task
    assert [line for line in log if line.endswith("stopped")] == [f"{n} stopped" for n in names]


async def test_a_one_shot_service_finishes_and_counts_as_ready() -> None:
    log: list[str] = []
    sync = Scripted("instrument-sync", ["done"], log)
    steady = Scripted("gateway", ["ok"], log)
    board = StatusBoard()
    stop = asyncio.Event()
    task = await _run([sync, steady], board, stop)
    await _until(lambda: _state(board, "instrument-sync") is State.FINISHED)
    assert sync.runs == 1 and board.ready() == (True, [])
    stop.set()
    await task


async def test_a_service_that_hangs_on_stop_is_cancelled_after_the_timeout() -> None:
    class Stubborn(Scripted):
        async def run(self, stop: asyncio.Event) -> None:
            self.runs += 1
            await asyncio.Event().wait()  # never returns by itself

    board = StatusBoard()
    stubborn = Stubborn("stubborn", ["ok"], [])
    stop = asyncio.Event()
    task = await _run([stubborn], board, stop, shutdown_timeout_s=0.05)
    await _until(lambda: stubborn.runs == 1)
    stop.set()
    async with asyncio.timeout(2.0):
        await task


async def test_readyz_and_metrics_are_served_from_the_board() -> None:
    log: list[str] = []
    service = NotReadyUntil("ingestor", log)
    registry = CollectorRegistry()
    board = StatusBoard(registry)
    settings = ServiceSettings.model_validate({"metrics_port": _free_port()})
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_services(
            [service],
            settings,
            registry=registry,
            board=board,
            stop=stop,
            handle_signals=False,
            configure_logging=False,
        )
    )
    base = f"http://127.0.0.1:{settings.metrics_port}"
    await _until(lambda: service.runs == 1)
    status, body = await asyncio.to_thread(_get, f"{base}/readyz")
    assert status == 503 and json.loads(body)["reasons"] == ["ingestor: no data yet"]
    service.is_ready = True
    status, body = await asyncio.to_thread(_get, f"{base}/readyz")
    assert status == 200
    status, body = await asyncio.to_thread(_get, f"{base}/metrics")
    assert 'quant_service_up{service="ingestor"} 1.0' in body
    assert "quant_native_info{" in body
    stop.set()
    await task
    with pytest.raises(urllib.error.URLError):  # the health server is closed with the process
        _get(f"{base}/healthz")


def test_backoff_grows_doubles_and_is_capped_with_jitter_in_its_upper_half() -> None:
    b = Backoff(initial_s=0.5, max_s=30.0)
    assert [b.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 7, 8, 20)] == [
        0.5,
        1.0,
        2.0,
        30.0,
        30.0,
        30.0,
    ]
    assert b.delay(3, rng=lambda: 0.0) == 1.0  # half of 2.0


def test_fatal_classification_looks_inside_exception_groups() -> None:
    assert not is_fatal(RuntimeError("boom"))
    assert not is_fatal(ExceptionGroup("g", [RuntimeError("a"), OSError("b")]))
    assert is_fatal(ExceptionGroup("g", [RuntimeError("a"), ConfigurationError("bad")]))


def test_a_403_is_retried_and_a_refused_token_is_fatal() -> None:
    """A 403 is "too many connections" or "not permitted": worth a retry; a 401 is not."""
    assert not is_fatal(UpstoxAuthError("feed authorize failed with HTTP 403", status=403))
    assert is_fatal(ExceptionGroup("g", [UpstoxAuthError("revoked", status=401)]))
    assert is_fatal(UpstoxAuthError("no Upstox access token stored"))  # no status: none held


def _state(board: StatusBoard, name: str) -> State | None:
    """The service's state, ``None`` before the supervisor registered it."""
    return board.state(name) if name in board.names() else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (loopback test server)
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
