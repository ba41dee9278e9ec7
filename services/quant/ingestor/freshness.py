"""Freshness of each feed connection by exchange time: lag, age, stale and reconnect.

Pure logic behind the ingestor's freshness metrics, ``/readyz`` and stale-socket
reconnects (:class:`~quant.ingestor.service.Ingestor` owns one
:class:`ConnectionFreshness` per socket and calls :func:`assess` at 1 Hz and on each
readiness probe):

* the *lag* of a frame is its receive time minus its exchange time (``ts_init -
  ts_event``), observed per frame;
* the *age* of a connection is ``now`` minus the newest exchange time it delivered; if
  it delivered nothing since it was expected to (the ingestor's start, or the open of
  today's continuous session), the age counts from then: data from yesterday does not
  make a connection stale at 09:15:00, but a first frame that is old is old;
* during continuous trading, a connection older than ``stale_after_s`` is stale (not
  ready), and older than ``reconnect_after_s`` is reconnected, at most once per
  ``reconnect_after_s`` (a reconnect takes time to bring new data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from quant.core.clock import NS_PER_SECOND
from quant.core.freshness import DEFAULT_STALE_AFTER_S
from quant.runtime.settings import Section


class FreshnessSettings(Section):
    """``QUANT_FRESHNESS__STALE_AFTER_S=5``, ``QUANT_FRESHNESS__RECONNECT_AFTER_S=15``,
    ``QUANT_FRESHNESS__CHECK=market_hours`` (or ``always``, ``off``)."""

    stale_after_s: float = Field(default=DEFAULT_STALE_AFTER_S, gt=0)
    reconnect_after_s: float = Field(default=15.0, gt=0)
    # when freshness is judged: during continuous trading (NSE calendar), at all times,
    # or never (e.g. against a simulator whose clock is not the wall clock's)
    check: Literal["market_hours", "always", "off"] = "market_hours"

    @model_validator(mode="after")
    def _ordered(self) -> FreshnessSettings:
        if self.reconnect_after_s < self.stale_after_s:
            raise ValueError(
                f"freshness.reconnect_after_s ({self.reconnect_after_s}) must not be below "
                f"freshness.stale_after_s ({self.stale_after_s})"
            )
        return self

    @property
    def stale_after_ns(self) -> int:
        return int(self.stale_after_s * NS_PER_SECOND)

    @property
    def reconnect_after_ns(self) -> int:
        return int(self.reconnect_after_s * NS_PER_SECOND)


@dataclass(slots=True)
class ConnectionFreshness:
    """What one feed connection delivered, by exchange time."""

    expected_since_ns: int  # data is expected from here on (start of watching)
    last_event_ns: int = 0  # newest exchange timestamp received
    last_lag_ns: int = 0  # receive minus exchange time of the newest frame
    last_received_ns: int = 0  # receive time of the latest frame
    reconnect_requested_ns: int = 0  # the last stale reconnect we asked for

    def observe(self, ts_event_ns: int, ts_init_ns: int) -> int:
        """Record one frame (exchange and receive times); returns its lag in ns."""
        lag = ts_init_ns - ts_event_ns
        self.last_received_ns = max(self.last_received_ns, ts_init_ns)
        if ts_event_ns >= self.last_event_ns:
            self.last_event_ns = ts_event_ns
            self.last_lag_ns = lag
        return lag

    def age_ns(self, now_ns: int, trading_since_ns: int | None = None) -> int:
        """``now`` minus the newest exchange time; from when data was expected if nothing
        has been received since then."""
        since = self.expected_since_ns
        if trading_since_ns is not None:
            since = max(since, trading_since_ns)
        if self.last_received_ns >= since:
            return now_ns - self.last_event_ns
        return now_ns - since


@dataclass(frozen=True, slots=True)
class Verdict:
    """The freshness of one connection at one instant."""

    age_ns: int
    stale: bool
    reconnect: bool

    @property
    def age_s(self) -> float:
        return self.age_ns / NS_PER_SECOND


def assess(
    conn: ConnectionFreshness,
    now_ns: int,
    *,
    trading_since_ns: int | None,
    subscribed: bool,
    settings: FreshnessSettings,
) -> Verdict:
    """Judge ``conn`` at ``now_ns``.

    ``trading_since_ns`` is the open of continuous trading if it is on now (None: the
    market is closed, nothing is judged); a connection without subscriptions is never
    stale (it has nothing to deliver).
    """
    age = conn.age_ns(now_ns, trading_since_ns)
    if trading_since_ns is None or not subscribed:
        return Verdict(age, stale=False, reconnect=False)
    stale = age > settings.stale_after_ns
    due = now_ns - conn.reconnect_requested_ns >= settings.reconnect_after_ns
    return Verdict(age, stale=stale, reconnect=age > settings.reconnect_after_ns and due)


def describe(socket: int, verdict: Verdict, settings: FreshnessSettings) -> str:
    """The ``/readyz`` reason for a stale connection."""
    return (
        f"feed connection {socket}: newest data {verdict.age_s:.1f} s old by exchange time "
        f"(stale above {settings.stale_after_s:g} s, reconnected above "
        f"{settings.reconnect_after_s:g} s)"
    )
