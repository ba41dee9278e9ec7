"""The order-rate limiter: exact sliding windows at the boundaries, and for any arrival sequence."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.core.clock import NS_PER_SECOND
from quant.trading.ratelimit import (
    NS_PER_MINUTE,
    Admitted,
    OrderRateLimiter,
    RateMode,
    RateWindow,
    Throttled,
    order_windows,
)

S = NS_PER_SECOND
T0 = 1_765_000_000 * S


def admitted(result: Admitted | Throttled) -> int:
    assert isinstance(result, Admitted), result
    return result.send_at_ns


def test_the_eleventh_order_in_a_second_waits_until_the_first_leaves_the_window() -> None:
    lim = OrderRateLimiter()
    sends = [admitted(lim.admit(T0 + i)) for i in range(10)]  # 10 orders, 1 ns apart
    assert sends == [T0 + i for i in range(10)]
    eleventh = lim.admit(T0 + 500_000_000)
    assert eleventh == Admitted(T0 + S, delayed=True)  # the first is 1 s old exactly then
    assert admitted(lim.admit(T0 + S)) == T0 + S + 1  # then the second's turn
    assert lim.queued(T0 + S) == 1


def test_orders_exactly_a_window_apart_do_not_wait() -> None:
    lim = OrderRateLimiter((RateWindow(1, S),))
    assert admitted(lim.admit(T0)) == T0
    assert lim.admit(T0 + S - 1) == Admitted(T0 + S, delayed=True)
    lim2 = OrderRateLimiter((RateWindow(1, S),))
    lim2.admit(T0)
    assert lim2.admit(T0 + S) == Admitted(T0 + S, delayed=False)


def test_reject_mode_refuses_without_taking_a_slot() -> None:
    lim = OrderRateLimiter(mode=RateMode.REJECT)
    for i in range(10):
        admitted(lim.admit(T0 + i))
    refused = lim.admit(T0 + 100)
    assert isinstance(refused, Throttled)
    assert refused.retry_at_ns == T0 + S
    assert refused.window == RateWindow(10, S)
    assert refused.reason == "RATE_LIMIT"
    assert "10 per 1 s" in refused.message
    assert lim.queued(T0 + 100) == 0
    assert admitted(lim.admit(T0 + S)) == T0 + S


def test_queue_refuses_beyond_the_maximum_delay() -> None:
    lim = OrderRateLimiter((RateWindow(1, 10 * S),), max_delay_ns=5 * S)
    admitted(lim.admit(T0))
    assert isinstance(lim.admit(T0 + S), Throttled)  # would wait 9 s
    assert lim.admit(T0 + 5 * S) == Admitted(T0 + 10 * S, delayed=True)


def test_the_minute_window_binds_after_500() -> None:
    lim = OrderRateLimiter(order_windows(50), mode=RateMode.REJECT)
    t = T0
    for _ in range(500):
        t = admitted(lim.admit(t)) + S // 50
    refused = lim.admit(t)
    assert isinstance(refused, Throttled)
    assert refused.window == RateWindow(500, NS_PER_MINUTE)
    assert refused.retry_at_ns == T0 + NS_PER_MINUTE


def test_windows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit > 0"):
        RateWindow(0, S)
    with pytest.raises(ValueError, match="at least one window"):
        OrderRateLimiter(())


def _max_in_window(times: list[int], length: int) -> int:
    """The most sends in any half-open window [t, t + length): an independent count."""
    times = sorted(times)
    return max((bisect_left(times, t + length) - i for i, t in enumerate(times)), default=0)


WINDOWS = (RateWindow(3, S), RateWindow(7, 10 * S), RateWindow(12, 60 * S))


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 3 * S), min_size=1, max_size=120),
    mode=st.sampled_from(list(RateMode)),
)
def test_no_window_ever_holds_more_than_its_limit(gaps: list[int], mode: RateMode) -> None:
    lim = OrderRateLimiter(WINDOWS, mode=mode, max_delay_ns=30 * S)
    now, sends = T0, []
    for gap in gaps:
        now += gap
        result = lim.admit(now)
        if isinstance(result, Admitted):
            assert result.send_at_ns >= now
            assert result.delayed == (result.send_at_ns > now)
            sends.append(result.send_at_ns)
        else:
            assert result.retry_at_ns > now
    assert sends == sorted(sends)  # handed out in arrival order
    for w in WINDOWS:
        assert _max_in_window(sends, w.length_ns) <= w.limit


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 40_000_000), min_size=1, max_size=400))
def test_upstox_default_windows_hold_for_bursts_and_no_order_waits_longer_than_needed(
    gaps: list[int],
) -> None:
    lim = OrderRateLimiter(max_delay_ns=3600 * S)
    now, arrivals, sends = T0, [], []
    for gap in gaps:
        now += gap
        arrivals.append(now)
        sends.append(admitted(lim.admit(now)))
    windows = order_windows()
    for w in windows:
        assert _max_in_window(sends, w.length_ns) <= w.limit
    for i, (arrived, sent) in enumerate(zip(arrivals, sends, strict=True)):
        if sent == arrived:
            continue
        # one nanosecond earlier would have broken arrival order or filled some window
        earlier = sent - 1
        blocked = i > 0 and sends[i - 1] > earlier
        for w in windows:
            in_window = sum(1 for t in sends[:i] if earlier - w.length_ns < t <= earlier)
            blocked = blocked or in_window >= w.limit
        assert blocked, (i, arrived, sent)
