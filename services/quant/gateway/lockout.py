"""The lockout after repeated failed logins: per user name and per client address.

:class:`LoginLockout` remembers the times of failed logins (from the injected clock) for
each user name and each client address. ``max_failures`` failures within ``window_s``
lock that name, or that address, out until the oldest of them leaves the window
(:meth:`LoginLockout.locked_for_s` says how long is left); a successful login clears the
user name's failures (not the address's: one address guessing many names stays locked).
A locked-out attempt is refused before its password is checked, so a guesser cannot
learn from it. Memory is bounded: at most :data:`MAX_TRACKED` names and addresses each.
Pure logic: no I/O.
"""

from __future__ import annotations

import threading
from collections import deque

from quant.core.clock import Clock

_NS = 1_000_000_000
MAX_TRACKED = 10_000


class _Failures:
    """Failure times per key, bounded."""

    def __init__(self, window_ns: int, limit: int) -> None:
        self._window_ns = window_ns
        self._limit = limit
        self._times: dict[str, deque[int]] = {}

    def _recent(self, key: str, now: int) -> deque[int] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self._window_ns:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times

    def locked_ns(self, key: str, now: int) -> int:
        times = self._recent(key, now)
        if times is None or len(times) < self._limit:
            return 0
        return times[-self._limit] + self._window_ns - now

    def add(self, key: str, now: int) -> None:
        times = self._recent(key, now)
        if times is None:
            if len(self._times) >= MAX_TRACKED:
                self._prune(now)
            times = self._times[key] = deque(maxlen=self._limit)
        times.append(now)

    def clear(self, key: str) -> None:
        self._times.pop(key, None)

    def _prune(self, now: int) -> None:
        for key in list(self._times):
            self._recent(key, now)
        while len(self._times) >= MAX_TRACKED:  # the oldest first
            self._times.pop(next(iter(self._times)))


class LoginLockout:
    """Failed logins per user name and client address (thread-safe)."""

    def __init__(self, clock: Clock, max_failures: int, window_s: float) -> None:
        self._clock = clock
        window_ns = int(window_s * _NS)
        self._users = _Failures(window_ns, max_failures)
        self._addresses = _Failures(window_ns, max_failures)
        self._lock = threading.Lock()

    @staticmethod
    def _user(username: str) -> str:
        return username.strip().lower()

    def locked_for_s(self, username: str, address: str) -> float:
        """Seconds until ``username`` from ``address`` may try again (0: now)."""
        now = self._clock.now_ns()
        with self._lock:
            left = max(
                self._users.locked_ns(self._user(username), now),
                self._addresses.locked_ns(address, now),
            )
        return left / _NS

    def failed(self, username: str, address: str) -> bool:
        """Record a failed login; returns whether it locked the name or the address out."""
        now = self._clock.now_ns()
        with self._lock:
            self._users.add(self._user(username), now)
            self._addresses.add(address, now)
            return (
                self._users.locked_ns(self._user(username), now) > 0
                or self._addresses.locked_ns(address, now) > 0
            )

    def succeeded(self, username: str) -> None:
        """Clear the user name's failures (a successful login)."""
        with self._lock:
            self._users.clear(self._user(username))
