"""Kafka clients stop their librdkafka threads on ``close()``, and at exit if nobody did.

No broker is needed: an idle client connects lazily, and closing it must not wait on one.
"""

from __future__ import annotations

import contextlib
import gc
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from quant.bus.errors import BusError
from quant.bus.kafka import KafkaBus

NOWHERE = "127.0.0.1:9"  # discard port: nothing listens


def _librdkafka_threads() -> int:
    """librdkafka's threads in this process (named ``rdk:...``)."""
    count = 0
    for task in Path("/proc/self/task").iterdir():
        # the thread ended while we looked: its entry is gone (FileNotFoundError) or its
        # files no longer readable (ProcessLookupError, ESRCH)
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            count += (task / "comm").read_text().startswith("rdk:")
    return count


def _settled_count() -> int:
    """The librdkafka thread count once clients earlier tests dropped are gone."""
    gc.collect()
    return _librdkafka_threads()


def _wait_for_at_most(n: int) -> int:
    deadline = time.monotonic() + 5
    while (now := _librdkafka_threads()) > n and time.monotonic() < deadline:
        threading.Event().wait(0.05)
    return now


def test_a_closed_publisher_stops_its_threads_and_refuses_to_publish() -> None:
    before = _settled_count()
    publisher = KafkaBus(NOWHERE).publisher()
    assert _librdkafka_threads() > before
    started = time.monotonic()
    publisher.close()
    assert time.monotonic() - started < 5
    assert _wait_for_at_most(before) <= before
    with pytest.raises(BusError, match="publisher is closed"):
        publisher.publish("market.equity.ticks", "NSE_EQ|INE002A01018", b"x")
    publisher.close()  # twice is fine
    publisher.flush()  # nothing left to deliver


def test_a_closed_consumer_stops_its_threads() -> None:
    before = _settled_count()
    consumer = KafkaBus(NOWHERE).consumer("g", ["market.equity.ticks"])
    assert _librdkafka_threads() > before
    consumer.close()
    consumer.close()
    assert _wait_for_at_most(before) <= before


def test_clients_left_open_are_closed_at_exit(tmp_path: Path) -> None:
    script = tmp_path / "leave_them.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import logging
            from quant.bus.kafka import KafkaBus

            logging.basicConfig(level=logging.WARNING, format="%(message)s")
            logging.getLogger("quant.bus.librdkafka").setLevel(logging.CRITICAL)
            bus = KafkaBus("{NOWHERE}")
            publisher = bus.publisher()
            consumer = bus.consumer("g", ["market.equity.ticks"])
            print("leaving", flush=True)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "leaving"
    assert "a Kafka KafkaPublisher was not closed; closing it at exit" in done.stderr
    assert "a Kafka KafkaConsumer was not closed; closing it at exit" in done.stderr
