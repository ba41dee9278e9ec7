"""``quant gateway`` as a subprocess on real Kafka, PostgreSQL and QuestDB.

Seeds one instrument into PostgreSQL and its candles (a stored day candle, a session's
minutes) into QuestDB, starts the command on a free port, publishes a Tick for it on
``market.equity.ticks`` and polls the quote endpoint until the price shows; then checks
the candles endpoint (1m as stored, 5m aggregated, 1d from the stored day and the
minutes) and the scanner endpoint's shape, ``/healthz``/``/readyz``/``/metrics``, that
an API key made by ``quant users add`` on the same PostgreSQL is accepted by
``/api/v1/me`` (and a missing one refused and counted), that the WebSocket stream
delivers a tick published on Kafka as a quote and an order event to the keyed client
(refusing the account channel without a key), and that SIGINT stops it within 5 s.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from quant.bus import codecs, topics
from quant.bus.kafka import KafkaBus
from quant.core.clock import IST, datetime_to_ns
from quant.core.events import Candle, FeedMode, ScannerSuggestion, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.store.columns import candle_batch
from quant.store.postgres import PostgresStore
from quant.store.questdb_ticks import QuestDBTickStore

pytestmark = pytest.mark.integration

INST = Instrument(
    "NSE_EQ|INE999Z01017",
    "GWTESTCO",
    "GATEWAY TEST COMPANY LTD",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    tick_size_paise=5,
)


def _ist(day: int, hh: int = 0, mm: int = 0) -> int:
    return datetime_to_ns(datetime(2026, 11, day, hh, mm, tzinfo=IST))


def _seed_candles(questdb: Any) -> None:
    """Thursday 2026-11-19's day candle and Friday 2026-11-20's first ten minutes."""
    key = INST.instrument_key
    minutes = [
        Candle(key, 60, _ist(20, 9, 15 + i), 10_000 + 5 * i, 10_050 + 5 * i, 9_990 + 5 * i,
               10_020 + 5 * i, 100 * (i + 1))
        for i in range(10)
    ]  # fmt: skip
    day = Candle(key, 86_400, _ist(19), 9_800, 10_100, 9_700, 9_950, 123_456)
    store = QuestDBTickStore(ilp_conf=questdb.ilp_conf, pg_dsn=questdb.pg_dsn).open()
    try:
        store.write(candle_batch([*minutes, day]))
        store.wait_visible()
    finally:
        store.close()


def _check_candles(client: httpx.Client) -> None:
    url = "/api/v1/market/candles/GWTESTCO"
    one = client.get(url, params={"from": "2026-11-20", "to": "2026-11-20"})
    assert one.status_code == 200, one.text
    bars = one.json()["candles"]
    assert len(bars) == 10
    assert bars[0] == {"ts": "2026-11-20T09:15:00+05:30", "open": "100.00", "high": "100.50",
                       "low": "99.90", "close": "100.20", "volume": 100, "oi": 0}  # fmt: skip
    five = client.get(url, params={"interval": "5m", "from": "2026-11-20", "to": "2026-11-20"})
    assert [(b["ts"][11:16], b["open"], b["high"], b["low"], b["close"], b["volume"])
            for b in five.json()["candles"]] == [
        ("09:15", "100.00", "100.70", "99.90", "100.40", 1500),
        ("09:20", "100.25", "100.95", "100.15", "100.65", 4000),
    ]  # fmt: skip
    days = client.get(url, params={"interval": "1d", "from": "2026-11-19", "to": "2026-11-20"})
    assert [(b["ts"], b["open"], b["close"], b["volume"]) for b in days.json()["candles"]] == [
        ("2026-11-19T00:00:00+05:30", "98.00", "99.50", 123_456),  # stored
        ("2026-11-20T00:00:00+05:30", "100.00", "100.65", 5500),  # from the minutes
    ]
    too_long = client.get(url, params={"from": "2026-01-01", "to": "2026-11-20"})
    assert too_long.status_code == 400, too_long.text
    picks = client.get("/api/v1/scanner/suggestions", params={"limit": 5})
    assert picks.status_code == 200, picks.text
    assert set(picks.json()) == {"ts", "suggestions"}


def _next(ws: ClientConnection, wanted: str) -> dict[str, Any]:
    """The next message of type or channel ``wanted`` (heartbeats and others skipped)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message: dict[str, Any] = json.loads(ws.recv(timeout=30))
        if wanted in (message["type"], message.get("channel")):
            return message
    raise AssertionError(f"no {wanted} message within 30 s")


def _check_stream(port: int, key: str, publisher: Any) -> None:
    url = f"ws://127.0.0.1:{port}/api/v1/stream"
    with connect(url, open_timeout=10) as anonymous:
        _next(anonymous, "welcome")
        anonymous.send(json.dumps({"op": "subscribe", "channel": "orders"}))
        refused = _next(anonymous, "error")
        assert refused["code"] == "auth_required", refused
    headers = {"Authorization": f"Bearer {key}"}
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        assert _next(ws, "welcome")["user"] == "asha"
        ws.send(json.dumps({"op": "subscribe", "channel": "quotes", "symbols": ["GWTESTCO"]}))
        ws.send(json.dumps({"op": "subscribe", "channel": "orders"}))
        _next(ws, "quotes")  # the current quote first
        ws.send(json.dumps({"op": "subscribe", "channel": "candles", "symbols": ["GWTESTCO"]}))
        ws.send(json.dumps({"op": "subscribe", "channel": "scanner"}))
        now = time.time_ns()
        tick = Tick(INST.instrument_key, FeedMode.LTPC, now, now, 123_500, close_price=120_000)
        event = OrderEvent("gw-stream-1", INST.instrument_key, Side.BUY, OrderType.LIMIT, 5,
                           OrderStatus.OPEN, now, now, price=123_500)  # fmt: skip
        publisher.publish(topics.TICKS.name, INST.instrument_key, codecs.encode_tick(tick))
        publisher.publish(topics.ORDERS.name, event.client_order_id, codecs.encode_order(event))
        bar = Candle(INST.instrument_key, 60, _ist(20, 9, 30), 12_300, 12_360, 12_290, 12_350, 42)
        pick = ScannerSuggestion(INST.instrument_key, "GWTESTCO", now, 1, 1.5, ("a test",), 12_350)
        publisher.publish(topics.CANDLES.name, INST.instrument_key, codecs.encode_candle(bar))
        publisher.publish(topics.SUGGESTIONS.name, "", codecs.encode_suggestion(pick))
        publisher.flush(10)
        price, order, got = "", None, {}
        deadline = time.monotonic() + 30
        # four topics: any may come first
        while price != "1235.00" or order is None or len(got) < 2:
            assert time.monotonic() < deadline, (price, order, got)
            message = json.loads(ws.recv(timeout=30))
            if message["type"] != "data":  # "subscribed" names its channel too
                continue
            if message["channel"] == "quotes":
                price = message["data"]["last_price"]
            elif message["channel"] == "orders":
                order = message["data"]
            else:
                got[message["channel"]] = message["data"]
        assert (order["client_order_id"], order["status"]) == ("gw-stream-1", "OPEN")
        assert got["candles"]["close"] == "123.50" and got["candles"]["volume"] == 42, got
        assert [s["trading_symbol"] for s in got["scanner"]["suggestions"]] == ["GWTESTCO"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateway_serves_quotes_from_kafka_and_postgres(
    kafka_bootstrap: str, fresh_postgres_dsn: str, questdb: Any
) -> None:
    store = PostgresStore(fresh_postgres_dsn).open()
    try:
        store.upsert_instruments([INST])
    finally:
        store.close()
    _seed_candles(questdb)
    bus = KafkaBus(kafka_bootstrap, client_id="test-gateway-service")
    bus.ensure_topics(topics.ALL_TOPICS)

    port = _free_port()
    env = {
        **os.environ,
        "QUANT_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "QUANT_POSTGRES__DSN": fresh_postgres_dsn,
        "QUANT_GATEWAY__HOST": "127.0.0.1",
        "QUANT_GATEWAY__PORT": str(port),
        "QUANT_QUESTDB__HOST": questdb.host,
        "QUANT_QUESTDB__HTTP_PORT": str(questdb.http_port),
        "QUANT_QUESTDB__PG_PORT": str(questdb.pg_port),
        "QUANT_GROUP_ID": f"gateway-test-{uuid.uuid4().hex[:8]}",
    }
    added = subprocess.run(
        [sys.executable, "-m", "quant.cli", "users", "add", "asha", "--role", "trader"],
        env={**env, "QUANT_ARGON2__MEMORY_KIB": "1024", "QUANT_ARGON2__TIME_COST": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    key = added.stdout.splitlines()[-1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant.cli", "gateway"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        publisher = bus.publisher()
        ltp = 123_455
        deadline = time.monotonic() + 60
        body: dict[str, object] = {}
        with httpx.Client(base_url=base, timeout=5) as client:
            while time.monotonic() < deadline:
                assert proc.poll() is None, "quant gateway exited early"
                now = time.time_ns()
                tick = Tick(INST.instrument_key, FeedMode.LTPC, now, now, ltp, close_price=120_000)
                publisher.publish(topics.TICKS.name, INST.instrument_key, codecs.encode_tick(tick))
                publisher.flush(10)
                try:
                    resp = client.get("/api/v1/market/quote/GWTESTCO")
                except httpx.TransportError:
                    time.sleep(0.5)
                    continue
                if resp.status_code == 200:
                    body = resp.json()
                    break
                assert resp.status_code == 404, resp.text
                time.sleep(0.5)
            assert body.get("last_price") == "1234.55", body
            assert body.get("source") == "upstox", body  # a cluster gateway reads Upstox
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert client.get("/api/v1/market/quote/NOSUCHSYMBOL").status_code == 404
            _check_candles(client)
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            assert me.status_code == 200, me.text
            assert me.json() == {"user": "asha", "role": "trader"}
            assert client.get("/api/v1/me").status_code == 401
            metrics = client.get("/metrics").text
            assert 'gateway_auth_failures_total{reason="missing"} 1.0' in metrics
        _check_stream(port, key, publisher)
        publisher.close()

        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        rc = proc.wait(timeout=5)
        assert time.monotonic() - started < 5
        assert rc == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        assert key[16:] not in output  # the key's secret never reaches the log
        print(output[-4000:])  # shown by pytest only when the test fails
