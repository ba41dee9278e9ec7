"""Parity: what the example strategy did in paper trading on ``quant up`` against what a
tick backtest of the same session does (``bench/bench_parity.py`` runs it; it is not in the
test suite: how often the example trades depends on the simulated day).

Starts ``quant up`` on the simulator at ``SPEED`` x (paper broker, the shipped example
strategy ``macross``: a moving-average cross on RELIANCE's 1-minute bars), waits until it
has traded ``WANT_FILLED`` orders (or ``RUN_WALL_S`` of wall time have passed), stops it,
then runs ``quant backtest ... --data ticks`` over the ``ticks.sqlite`` that run recorded,
with the same parameters, strategy id and paper broker settings (event time on). It
compares, order by order (by client order id), the intents (side, type, quantity, price,
trigger) and the fills (filled quantity and value after each execution) of the paper
run's journal with the backtest's ``orders.csv``, over the run's window: orders the
backtest made after the last recorded tick (from the candles it closes at the end of the
data, which the paper run stopped before publishing) are not the paper run's to match.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from e2e_kit import free_port, stretched

from quant.core.clock import IST, ns_to_datetime
from quant.core.orders import OrderEvent, OrderStatus
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.up.platform import EXAMPLE_STRATEGY
from quant.users.settings import RELATIONAL_FILE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPEED = 30.0
#: stop once the strategy has this many filled orders (or after RUN_WALL_S)
WANT_FILLED = 6
RUN_WALL_S = 80.0
RELIANCE = "NSE_EQ|INE002A01018"
#: the paper broker of both runs (QUANT_PAPER__* and the backtest's ``paper:``): a latency
#: with seeded jitter, counted on event time (docs/strategies.md, "Paper and backtest
#: parity"), so the hop from a tick to the order reaching the service, SPEED times longer
#: in simulated time, does not change the fill
PAPER = {"event_time": True, "latency_ms": 250, "jitter_ms": 100, "seed": 3}
_FILL = frozenset({OrderStatus.PARTIALLY_FILLED.name, OrderStatus.FILLED.name})


@dataclass(frozen=True)
class OrderTrace:
    """One order as both paths must agree on it."""

    client_order_id: str
    intent: tuple[str, str, int, int, int]  # side, type, quantity, price, trigger price
    fills: tuple[tuple[int, int], ...]  # (filled quantity, filled value) after each fill
    first_ts: int


def _traces(
    rows: list[tuple[str, str, str, int, int, int, str, int, int, int]],
) -> dict[str, OrderTrace]:
    """rows: (cid, side, type, quantity, price, trigger, status, filled qty, value, ts)."""
    out: dict[str, OrderTrace] = {}
    for cid, side, typ, qty, price, trigger, status, fq, fv, ts in rows:
        t = out.get(cid)
        if t is None:
            t = out[cid] = OrderTrace(cid, (side, typ, qty, price, trigger), (), ts)
        if status in _FILL and (not t.fills or t.fills[-1] != (fq, fv)):
            out[cid] = OrderTrace(cid, t.intent, (*t.fills, (fq, fv)), t.first_ts)
    return out


def _paper_rows(
    events: list[OrderEvent],
) -> list[tuple[str, str, str, int, int, int, str, int, int, int]]:
    return [
        (e.client_order_id, e.side.name, e.order_type.name, e.quantity, e.price,
         e.trigger_price, e.status.name, e.filled_quantity, e.filled_value, e.ts_event)
        for e in events
    ]  # fmt: skip


def _backtest_rows(path: Path) -> list[tuple[str, str, str, int, int, int, str, int, int, int]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [
            (r["client_order_id"], r["side"], r["type"], int(r["quantity"]), int(r["price"]),
             int(r["trigger_price"]), r["status"], int(r["filled_quantity"]),
             int(r["filled_value"]), int(r["ts"]))
            for r in csv.DictReader(f)
        ]  # fmt: skip


def _run_quant_up(data: Path, log: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANT_")}
    env |= {"QUANT_DATA_DIR": str(data), "QUANT_SIM_SPEED": str(SPEED)}
    env |= {f"QUANT_PAPER__{k.upper()}": str(v).lower() for k, v in PAPER.items()}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quant.cli", "up", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
                deadline = time.monotonic() + stretched(RUN_WALL_S)
                key = ""
                while time.monotonic() < deadline:
                    assert proc.poll() is None, f"quant up exited:\n{log.read_text()[-6000:]}"
                    time.sleep(1.0)
                    if not key and (data / "admin.key").exists():
                        key = (data / "admin.key").read_text().strip()
                    if not key:
                        continue
                    try:
                        resp = http.get(
                            "/api/v1/orders", headers={"Authorization": f"Bearer {key}"}
                        )
                    except httpx.TransportError:
                        continue
                    if resp.status_code != 200:
                        continue
                    filled = [
                        o for o in resp.json()
                        if o["strategy"] == "macross" and o["status"] == "FILLED"
                    ]  # fmt: skip
                    if len(filled) >= WANT_FILLED:
                        break
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                assert proc.wait(timeout=stretched(30)) == 0, log.read_text()[-6000:]
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


def run_parity(tmp_path: Path) -> tuple[dict[str, OrderTrace], dict[str, OrderTrace]]:
    """One paper session on ``quant up`` and the tick backtest of it: (paper, backtest)
    order traces by client order id (``bench/bench_parity.py`` runs this repeatedly)."""
    data = tmp_path / "data"
    _run_quant_up(data, tmp_path / "up.log")

    relational = SqliteRelationalStore(data / RELATIONAL_FILE).open()
    try:
        events = [e for e in relational.order_events_since(0) if e.strategy == "macross"]
    finally:
        relational.close()
    assert events, f"the strategy placed no order:\n{(tmp_path / 'up.log').read_text()[-6000:]}"
    ticks = SqliteTickStore(data / "ticks.sqlite").open()
    try:
        recorded = ticks.ticks_between([RELIANCE], 0, 2**62)
    finally:
        ticks.close()
    assert recorded
    last_tick = recorded[-1].ts_event
    day = ns_to_datetime(recorded[0].ts_event, IST).date()
    assert ns_to_datetime(last_tick, IST).date() == day

    config = tmp_path / "parity.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "params": EXAMPLE_STRATEGY["params"],
                # the paper run's: strategy id, algo name, the paper broker's settings
                "backtest": {"strategy_id": "macross", "algo_name": "quant-up", "paper": PAPER},
            }
        )
    )
    out = tmp_path / "bt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANT_")}
    env["QUANT_DATA_DIR"] = str(data)
    done = subprocess.run(
        [sys.executable, "-m", "quant.cli", "backtest", str(EXAMPLE_STRATEGY["class"]),
         "--from", day.isoformat(), "--to", day.isoformat(), "--symbols", "RELIANCE",
         "--data", "ticks", "--config", str(config), "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=stretched(120),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    paper = _traces(_paper_rows(events))
    backtest = _traces(_backtest_rows(out / "orders.csv"))
    # the backtest's orders of the paper run's window (see the module docstring)
    backtest = {c: t for c, t in backtest.items() if t.first_ts < last_tick or c in paper}
    print(
        f"parity: {len(paper)} paper orders, {len(backtest)} backtest orders; "
        f"{sum(len(t.fills) for t in paper.values())} paper fills, "
        f"{sum(len(t.fills) for t in backtest.values())} backtest fills; "
        f"{len(recorded)} RELIANCE ticks recorded"
    )
    for t in paper.values():
        print(f"  {t.client_order_id} {t.intent} fills {t.fills}")
    return paper, backtest
