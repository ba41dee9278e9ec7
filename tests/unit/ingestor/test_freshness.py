"""Freshness by exchange time: the pure rules (age, stale, reconnect, market hours)."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.core.freshness import age_seconds, is_stale, trading_since
from quant.ingestor.freshness import ConnectionFreshness, FreshnessSettings, assess, describe

S = NS_PER_SECOND
OPEN = datetime_to_ns(datetime(2026, 11, 25, 9, 15, tzinfo=IST))  # a Wednesday
NOON = datetime_to_ns(datetime(2026, 11, 25, 12, 0, tzinfo=IST))
SETTINGS = FreshnessSettings()  # 5 s stale, 15 s reconnect


def test_age_and_stale_are_by_exchange_time() -> None:
    assert age_seconds(NOON, NOON + 2 * S) == 2.0
    assert not is_stale(NOON, NOON + 5 * S)  # at the threshold: still fresh
    assert is_stale(NOON, NOON + 5 * S + 1)
    assert is_stale(NOON, NOON + 2 * S, max_age_s=1.5)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 11, 25, 9, 14, 59, tzinfo=IST), None),  # pre-open
        (datetime(2026, 11, 25, 9, 15, tzinfo=IST), OPEN),
        (datetime(2026, 11, 25, 15, 29, 59, tzinfo=IST), OPEN),
        (datetime(2026, 11, 25, 15, 30, tzinfo=IST), None),  # closed
        (datetime(2026, 11, 28, 11, 0, tzinfo=IST), None),  # Saturday
        (datetime(2026, 11, 24, 11, 0, tzinfo=IST), None),  # Guru Nanak Jayanti
    ],
)
def test_trading_since_is_the_open_during_continuous_trading_only(
    when: datetime, expected: int | None
) -> None:
    assert trading_since(NSE_CALENDAR, datetime_to_ns(when)) == expected


def test_a_frame_lag_is_receive_minus_exchange_time_and_the_age_follows_the_newest() -> None:
    conn = ConnectionFreshness(expected_since_ns=NOON)
    assert conn.observe(NOON + 1 * S, NOON + 3 * S) == 2 * S
    assert conn.observe(NOON, NOON + 4 * S) == 4 * S  # an older frame: lag, not newest
    assert conn.last_event_ns == NOON + 1 * S
    assert conn.last_lag_ns == 2 * S
    assert conn.age_ns(NOON + 7 * S, OPEN) == 6 * S


def test_age_is_not_counted_from_before_data_was_expected() -> None:
    conn = ConnectionFreshness(expected_since_ns=NOON)  # started at noon, nothing yet
    assert conn.age_ns(NOON + 3 * S, OPEN) == 3 * S
    yesterday = ConnectionFreshness(expected_since_ns=OPEN - 20 * 3600 * S)
    yesterday.observe(OPEN - 18 * 3600 * S, OPEN - 18 * 3600 * S)
    assert yesterday.age_ns(OPEN + 2 * S, OPEN) == 2 * S  # from today's open, not before


def test_a_first_frame_that_is_old_is_old() -> None:
    conn = ConnectionFreshness(expected_since_ns=NOON)
    conn.observe(NOON - 30 * S, NOON + 1 * S)  # received after the start, 31 s late
    assert conn.age_ns(NOON + 2 * S, OPEN) == 32 * S


def test_stale_above_the_first_threshold_reconnect_above_the_second_once_per_period() -> None:
    conn = ConnectionFreshness(expected_since_ns=NOON)
    conn.observe(NOON, NOON)

    def verdict(after_s: float) -> tuple[bool, bool]:
        v = assess(
            conn, NOON + int(after_s * S), trading_since_ns=OPEN, subscribed=True, settings=SETTINGS
        )
        return v.stale, v.reconnect

    assert verdict(4.9) == (False, False)
    assert verdict(5.1) == (True, False)
    assert verdict(15.1) == (True, True)
    conn.reconnect_requested_ns = NOON + 15 * S  # asked for at 15 s
    assert verdict(20) == (True, False)  # the reconnect is given its time
    assert verdict(30.1) == (True, True)  # and then asked for again


def test_nothing_is_judged_when_closed_or_without_subscriptions() -> None:
    conn = ConnectionFreshness(expected_since_ns=NOON)
    later = NOON + 60 * S
    closed = assess(conn, later, trading_since_ns=None, subscribed=True, settings=SETTINGS)
    idle = assess(conn, later, trading_since_ns=OPEN, subscribed=False, settings=SETTINGS)
    assert closed.age_s == idle.age_s == 60.0
    assert not closed.stale and not closed.reconnect
    assert not idle.stale and not idle.reconnect


def test_the_reason_names_the_connection_and_the_age() -> None:
    conn = ConnectionFreshness(expected_since_ns=NOON)
    now = NOON + 7_300_000_000
    v = assess(conn, now, trading_since_ns=OPEN, subscribed=True, settings=SETTINGS)
    assert describe(1, v, SETTINGS) == (
        "feed connection 1: newest data 7.3 s old by exchange time "
        "(stale above 5 s, reconnected above 15 s)"
    )


def test_the_reconnect_threshold_may_not_be_below_the_stale_one() -> None:
    with pytest.raises(ValidationError, match="reconnect_after_s"):
        FreshnessSettings(stale_after_s=10, reconnect_after_s=5)
    with pytest.raises(ValidationError):
        FreshnessSettings(stale_after_s=0)
