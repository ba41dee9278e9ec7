"""``TokenWait`` on a fake clock and sleep: it re-reads the source each interval until the
token differs from the refused one, says so once each way (never the token), sets its
gauge, and serves several feed sockets with one wait."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from quant.core.clock import FakeClock
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.token_wait import TokenWait
from quant.upstox.auth import FileTokenStore, StoredTokenSource
from quant.upstox.errors import UpstoxAuthError

T0 = 1_795_000_000_000_000_000
OLD = "old-token-0123456789"
NEW = "new-token-9876543210"
REFUSED = UpstoxAuthError("feed handshake refused with HTTP 401", status=401)


class Harness:
    """A token file behind a ``StoredTokenSource``; the fake sleep advances the clock and
    runs ``on_sleep`` (e.g. writes the new token after some re-reads)."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "access_token"
        self.path.write_text(OLD)
        self.clock = FakeClock(T0)
        self.registry = CollectorRegistry()
        metrics = IngestorMetrics(self.registry)
        self.sleeps: list[float] = []
        self.rewrite_after: int | None = None
        self.wait = TokenWait(
            StoredTokenSource(FileTokenStore(self.path), self.clock),
            clock=self.clock,
            interval_s=60.0,
            waiting=metrics.waiting_for_token,
            refusals=metrics.token_refusals,
            sleep=self.sleep,
        )

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        if len(self.sleeps) == self.rewrite_after:
            self.path.write_text(NEW)  # as a mounted Secret is updated: the bare token
        await asyncio.sleep(0)

    def gauge(self) -> float | None:
        return self.registry.get_sample_value("ingestor_waiting_for_token")


async def test_rereads_every_interval_until_a_new_token_and_logs_once_each_way(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path)
    h.rewrite_after = 3
    caplog.set_level(logging.INFO, logger="quant.ingestor")
    assert h.wait.reason is None and h.gauge() == 0
    task = asyncio.create_task(h.wait(OLD, REFUSED))
    async with asyncio.timeout(2):
        await task
    assert h.sleeps == [60.0, 60.0, 60.0]  # the same (refused) token twice: still waiting
    assert h.gauge() == 0 and h.wait.reason is None and not h.wait.waiting
    assert h.registry.get_sample_value("ingestor_token_refusals_total") == 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "waits for a new token, re-reading" in lines[0] and str(h.path) in lines[0]
    assert "picked up" in lines[1] and "after 180 s" in lines[1]
    assert not any(OLD in line or NEW in line for line in lines)


async def test_while_waiting_the_reason_and_gauge_say_so(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    task = asyncio.create_task(h.wait(OLD, REFUSED))
    async with asyncio.timeout(2):
        while True:
            if len(h.sleeps) >= 2:
                break
            await asyncio.sleep(0)
    assert h.gauge() == 1 and h.wait.waiting
    reason = h.wait.reason
    assert reason is not None
    assert reason.startswith("waiting for a new Upstox access token since ")
    assert "HTTP 401" in reason and f"re-reading {h.path} every 60 s" in reason
    task.cancel()  # the ingestor stops while waiting: no longer reported as waiting
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.gauge() == 0 and h.wait.reason is None


async def test_a_token_already_replaced_is_used_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.path.write_text(NEW)
    await h.wait(OLD, REFUSED)
    assert h.sleeps == []


async def test_a_missing_or_unreadable_token_file_is_waited_for(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.path.unlink()
    h.rewrite_after = 2
    await h.wait(None, UpstoxAuthError("no Upstox access token stored"))
    assert h.sleeps == [60.0, 60.0]


async def test_several_sockets_share_one_wait(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.rewrite_after = 2
    async with asyncio.timeout(2):
        await asyncio.gather(*(h.wait(OLD, REFUSED) for _ in range(3)))
    assert h.sleeps == [60.0, 60.0]  # one wait; the other two found the new token
    assert h.registry.get_sample_value("ingestor_token_refusals_total") == 3


def test_the_interval_must_be_positive(tmp_path: Path) -> None:
    metrics = IngestorMetrics(CollectorRegistry())
    with pytest.raises(ValueError, match="interval_s"):
        TokenWait(
            lambda: OLD,
            clock=FakeClock(T0),
            interval_s=0,
            waiting=metrics.waiting_for_token,
            refusals=metrics.token_refusals,
        )


async def test_a_garbled_token_file_is_waited_past_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path)
    h.path.write_bytes(b"\xff\xfe not text")  # half-written, or the wrong file mounted
    h.rewrite_after = 3
    caplog.set_level(logging.INFO, logger="quant.ingestor")
    await h.wait(OLD, REFUSED)
    assert h.sleeps == [60.0, 60.0, 60.0]
    problems = [r.getMessage() for r in caplog.records if "no usable" in r.getMessage()]
    assert len(problems) == 1 and "UnicodeDecodeError" in problems[0]  # said once
