"""Waiting out a refused Upstox token: re-read the token source until a new token is there.

When the feed refuses the access token (HTTP 401: expired at 03:30 IST, or revoked) or
the token source has none, a restart cannot help; only a new token can, and it arrives
by ``quant auth login`` rewriting the token file, or the operator updating the Secret
mounted as that file. :class:`TokenWait` is what the ingestor's feed clients await then
(their ``on_token_refused``): it re-reads the source every ``interval_s`` (the
ingestor's ``token_reread_s``) until it gives a token other than the refused one, then
returns, and the clients reconnect with their subscriptions, in the same process.

One wait serves every feed socket (the others queue behind it and find the new token at
once). It logs one line when the wait starts and one when a new token is picked up
(never the token itself), sets ``ingestor_waiting_for_token`` and counts refusals in
``ingestor_token_refusals_total``; :attr:`TokenWait.reason` feeds ``/readyz``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from prometheus_client import Counter, Gauge

from quant.core.clock import NS_PER_SECOND, Clock, ns_to_datetime
from quant.upstox.errors import UpstoxAuthError, UpstoxError

log = logging.getLogger(__name__)

TokenSource = Callable[[], str]
Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class ReloadableTokenSource(Protocol):
    """A token source that caches what it read (``StoredTokenSource``)."""

    def __call__(self) -> str: ...

    def reload(self) -> None:
        """Read the store again on the next call."""
        ...

    @property
    def where(self) -> str:
        """Where the token comes from, for the log."""
        ...


class TokenWait:
    """The ``on_token_refused`` of the ingestor's feed clients (see the module doc)."""

    def __init__(
        self,
        source: TokenSource,
        *,
        clock: Clock,
        interval_s: float,
        waiting: Gauge,
        refusals: Counter,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self._source = source
        self._clock = clock
        self._interval_s = interval_s
        self._waiting = waiting
        self._refusals = refusals
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._since_ns: int | None = None
        self._cause = ""
        self._read_problem = ""
        self._picked: str | None = None  # the token the last wait picked up (never logged)
        waiting.set(0)

    @property
    def where(self) -> str:
        if isinstance(self._source, ReloadableTokenSource):
            return self._source.where
        return "the token source"

    @property
    def waiting(self) -> bool:
        return self._since_ns is not None

    @property
    def reason(self) -> str | None:
        """Why the feed is not ready while waiting (for ``/readyz``), else ``None``."""
        since = self._since_ns
        if since is None:
            return None
        at = ns_to_datetime(since).strftime("%H:%M:%S UTC")
        return (
            f"waiting for a new Upstox access token since {at} ({self._cause}); "
            f"re-reading {self.where} every {self._interval_s:g} s"
        )

    def _read(self) -> str | None:
        """The source's token now, or ``None`` (no usable token); problems logged once each."""
        if isinstance(self._source, ReloadableTokenSource):
            self._source.reload()
        try:
            token = self._source()
        except (UpstoxError, OSError, ValueError) as e:  # missing, expired, unreadable, malformed
            problem = f"{type(e).__name__}: {e}"
            if problem != self._read_problem:
                self._read_problem = problem
                log.info("no usable Upstox token in %s yet: %s", self.where, problem)
            return None
        self._read_problem = ""
        return token or None

    async def __call__(self, refused: str | None, error: UpstoxAuthError) -> None:
        """Return once the source gives a token other than ``refused`` (the one the feed
        used; ``None`` when the source had none)."""
        self._refusals.inc()
        async with self._lock:  # one wait for all sockets; the next finds the new token
            token = self._read()
            if token is not None and token != refused:
                if token != self._picked:  # not the one a wait just picked up: say so
                    self._picked = token
                    log.warning(
                        "feed: the Upstox access token was refused (%s); %s already holds "
                        "another token: reconnecting with it",
                        error,
                        self.where,
                    )
                return
            self._start(error)
            try:
                while True:
                    await self._sleep(self._interval_s)
                    token = self._read()
                    if token is not None and token != refused:
                        break
                self._picked = token
                self._log_end()
            finally:  # picked up, or the ingestor stopped meanwhile: no longer waiting
                self._since_ns = None
                self._waiting.set(0)

    def _start(self, error: UpstoxAuthError) -> None:
        self._cause = str(error)
        self._since_ns = self._clock.now_ns()
        self._waiting.set(1)
        log.error(
            "feed: the Upstox access token was refused (%s); the ingestor waits for a new "
            "token, re-reading %s every %g s (run `quant auth login`, or update the Secret)",
            error,
            self.where,
            self._interval_s,
        )

    def _log_end(self) -> None:
        since = self._since_ns if self._since_ns is not None else self._clock.now_ns()
        waited = (self._clock.now_ns() - since) / NS_PER_SECOND
        log.warning(
            "feed: a new Upstox access token was picked up from %s after %.0f s of waiting; "
            "reconnecting the feed",
            self.where,
            waited,
        )
