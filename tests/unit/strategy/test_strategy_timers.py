"""Timers at IST times of day and every N seconds, on a fake clock."""

from __future__ import annotations

from datetime import date, time

import pytest
from strategy_kit import SEC, clock_at, ist

from quant.trading.strategy import Strategy, StrategyContext, StrategyHost, TimerEvent
from quant.trading.strategy.timers import Timers, parse_time_of_day

TUE = date(2026, 12, 8)
FRI = date(2026, 12, 11)
MON = date(2026, 12, 14)


def fired(timers: Timers, now: int) -> list[tuple[int, TimerEvent]]:
    return timers.due(now)


def test_a_time_of_day_timer_fires_once_at_the_first_reading_at_or_after_it() -> None:
    t = Timers()
    assert t.at(0, "sq", "15:10", ist(9, 15)) == ist(15, 10)
    assert fired(t, ist(15, 9, 59)) == []
    assert fired(t, ist(15, 10, 3)) == [(0, TimerEvent("sq", ist(15, 10), ist(15, 10, 3)))]
    assert fired(t, ist(15, 20)) == []
    assert t.next_due_ns() == ist(15, 10, day=TUE)
    assert fired(t, ist(15, 10, day=TUE)) == [
        (0, TimerEvent("sq", ist(15, 10, day=TUE), ist(15, 10, day=TUE)))
    ]


def test_a_time_of_day_set_after_its_time_first_fires_the_next_day() -> None:
    t = Timers()
    assert t.at(0, "sq", time(15, 10), ist(15, 10)) == ist(15, 10, day=TUE)


def test_a_missed_day_is_skipped_not_fired_the_next_morning() -> None:
    t = Timers()
    t.at(0, "sq", "15:10", ist(14, 0, day=FRI))
    # the clock jumps from Friday 14:00 to Monday's open (a backtest over the weekend)
    assert fired(t, ist(9, 15, day=MON)) == []
    assert t.next_due_ns() == ist(15, 10, day=MON)
    assert fired(t, ist(15, 10, day=MON))[0][1].ts_scheduled == ist(15, 10, day=MON)


def test_every_n_seconds_from_set_time_and_a_late_reading_fires_once() -> None:
    t = Timers()
    t0 = ist(10, 0)
    assert t.every(1, "hb", 10, t0) == t0 + 10 * SEC
    assert fired(t, t0 + 9 * SEC) == []
    assert fired(t, t0 + 10 * SEC) == [(1, TimerEvent("hb", t0 + 10 * SEC, t0 + 10 * SEC))]
    # 35 s later: the 20 s, 30 s and 40 s times passed; one firing, back on the grid
    assert fired(t, t0 + 45 * SEC) == [(1, TimerEvent("hb", t0 + 20 * SEC, t0 + 45 * SEC))]
    assert t.next_due_ns() == t0 + 50 * SEC


def test_due_timers_come_out_by_time_then_by_the_order_they_were_set() -> None:
    t = Timers()
    t0 = ist(10, 0)
    t.every(2, "b", 5, t0)
    t.every(1, "a", 5, t0)
    t.every(0, "early", 3, t0)
    out = fired(t, t0 + 5 * SEC)
    assert [(o, e.name) for o, e in out] == [(0, "early"), (2, "b"), (1, "a")]


def test_setting_a_name_again_replaces_and_cancel_removes() -> None:
    t = Timers()
    t0 = ist(10, 0)
    t.every(0, "x", 5, t0)
    t.every(0, "x", 60, t0)
    t.every(1, "x", 7, t0)  # another owner's timer of the same name is its own
    assert [(o, e.name) for o, e in fired(t, t0 + 10 * SEC)] == [(1, "x")]
    assert t.cancel(0, "x") is True
    assert t.cancel(0, "x") is False
    t.cancel_owner(1)
    assert t.next_due_ns() is None


def test_bad_timer_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="like '15:10'"):
        parse_time_of_day("3pm")
    with pytest.raises(ValueError, match="must be > 0 seconds"):
        Timers().every(0, "x", 0, 0)


class SquareOff(Strategy):
    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.at("square_off", "15:10")
        ctx.every("heartbeat", 60)

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        self.events.append((timer.name, timer.ts_scheduled, ctx.now_ns))


def test_a_host_stepping_a_simulated_clock_to_next_due_fires_each_timer_on_time() -> None:
    clock = clock_at(15, 7, 30)
    s = SquareOff()
    host = StrategyHost(clock)
    host.add(s, strategy_id="sq")
    host.start()
    while (due := host.next_due_ns()) is not None and due <= ist(15, 11):
        clock.set_ns(due)
        host.on_time()
    assert s.events == [
        ("heartbeat", ist(15, 8, 30), ist(15, 8, 30)),
        ("heartbeat", ist(15, 9, 30), ist(15, 9, 30)),
        ("square_off", ist(15, 10), ist(15, 10)),
        ("heartbeat", ist(15, 10, 30), ist(15, 10, 30)),
    ]
