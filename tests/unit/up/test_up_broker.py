"""``quant up --broker``: the flag, the refusal of real orders, and the execution settings."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest

from quant.cli import build_parser
from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.up.market import Market
from quant.up.platform import (
    BrokerUnavailable,
    check_broker,
    execution_settings,
    warn_journal_outlives_simulator,
)
from quant.up.settings import UpSettings
from quant.upstox.settings import UpstoxSettings


def _market() -> Market:
    url = "http://127.0.0.1:1"
    upstox = UpstoxSettings(api_base=url, hft_base=url, assets_base=url)
    return Market("sim", upstox, [], lambda: "token", "sim", FakeClock(0))


def test_the_flag_takes_paper_or_upstox_only() -> None:
    parser = build_parser()
    assert parser.parse_args(["up", "--broker", "upstox"]).broker == "upstox"
    assert parser.parse_args(["up"]).broker is None  # QUANT_BROKER, default paper
    with pytest.raises(SystemExit):
        parser.parse_args(["up", "--broker", "zerodha"])


def test_the_upstox_adapter_is_refused_on_a_real_account() -> None:
    check_broker(UpSettings(source="sim", broker="upstox"))
    check_broker(UpSettings(source="upstox", broker="paper"))
    with pytest.raises(BrokerUnavailable, match="simulator only"):
        check_broker(UpSettings(source="upstox", broker="upstox"))


def test_execution_settings_follow_the_broker() -> None:
    paper = execution_settings(UpSettings(), _market(), 18081)
    assert (paper.mode, paper.api_host, paper.api_port) == ("paper", "127.0.0.1", 18081)
    live = execution_settings(UpSettings(broker="upstox"), _market(), 18082)
    assert live.mode == "live" and live.default_algo_name == "quant-up"
    assert live.upstox.api_base == "http://127.0.0.1:1"  # orders go to the simulator


def test_a_journal_of_today_is_announced_as_unknown_to_the_restarted_simulator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime_to_ns(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    store = SqliteRelationalStore().open()
    try:
        assert warn_journal_outlives_simulator(store, tmp_path, now) == 0
        assert not caplog.records
        for cid, ts in (("manual-261207-1", now - 86_400 * 10**9), ("manual-261208-1", now)):
            event = OrderEvent(
                cid, "NSE_EQ|X", Side.BUY, OrderType.MARKET, 1, OrderStatus.PENDING_NEW, ts, ts
            )
            store.append_order_event(event)
            store.append_order_event(event._replace(status=OrderStatus.OPEN, ts_init=ts + 1))
        with caplog.at_level(logging.WARNING):
            assert warn_journal_outlives_simulator(store, tmp_path, now) == 1  # today's only
        (record,) = caplog.records
        assert str(tmp_path) in record.getMessage() and "QUANT_DATA_DIR" in record.getMessage()
    finally:
        store.close()
