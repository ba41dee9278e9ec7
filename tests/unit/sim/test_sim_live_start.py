"""``quant sim`` keeps real time during market hours (exchange times a wall-clock service
can age truly), and starts at 09:14 of the next trading day otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

from quant.core.clock import IST
from quant.sim.config import live_start


def test_live_start_is_now_during_continuous_trading_only() -> None:
    trading = datetime(2026, 11, 25, 5, 30, tzinfo=UTC)  # 11:00 IST, a Wednesday
    assert live_start(trading) == trading.astimezone(IST)
    assert live_start(datetime(2026, 11, 25, 3, 40, tzinfo=UTC)) is None  # 09:10 IST
    assert live_start(datetime(2026, 11, 25, 10, 5, tzinfo=UTC)) is None  # 15:35 IST
    assert live_start(datetime(2026, 11, 28, 5, 30, tzinfo=UTC)) is None  # Saturday
