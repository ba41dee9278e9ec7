"""What a service is to the runtime, and which of its failures are worth a restart.

A :class:`Service` is a name and ``async run(stop)``: it runs until ``stop`` is set, then
flushes what it accepted and returns. Every service package has
``build(settings, deps) -> Service``; :func:`quant.runtime.supervisor.run_services` runs
a list of them, restarting one that fails. ``run`` may therefore be called again after it
raised: it builds its per-run clients (feed sockets, consumers) inside ``run`` and keeps
only what must outlive a restart (settings, dependencies, metrics) on the object.

A service may also say whether it is ready (:class:`ReportsReadiness`): the supervisor
asks it for ``/readyz`` while it runs.

The retryable-vs-fatal decision lives here, in :func:`is_fatal`: a bad configuration or
a :class:`FatalServiceError` is reported and waited out (retrying would fail the same
way); anything else is retried with backoff. A refused token is fatal to a service that
does not wait for a new one itself (the ingestor does: its feed waits in
:class:`quant.ingestor.token_wait.TokenWait` and never raises it); a 403 (too many
connections, not permitted) is retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import ValidationError

from quant.upstox.errors import UpstoxAuthError

Readiness = tuple[bool, Sequence[str]]


@runtime_checkable
class Service(Protocol):
    """A long-running part of a process: ingestor, feature engine, gateway, ..."""

    @property
    def name(self) -> str: ...

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then flush and return; raise on failure."""
        ...


@runtime_checkable
class ReportsReadiness(Protocol):
    """A service that knows more about its readiness than "it is running"."""

    def ready(self) -> Readiness:
        """``(ready, reasons it is not)``; called from the health server's thread."""
        ...


class FatalServiceError(Exception):
    """A failure a restart cannot fix (bad configuration, missing prerequisite)."""


class ConfigurationError(FatalServiceError):
    """The settings or the wiring of a service are wrong; the message says what to fix."""


class DependencyUnavailable(FatalServiceError):
    """A server the process needs did not answer at start-up; the message names it and
    says what to run."""


def leaf_errors(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or ``[exc]``."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_errors(inner)]
    return [exc]


_FATAL: tuple[type[BaseException], ...] = (FatalServiceError, ValidationError)


def _fatal_leaf(leaf: BaseException) -> bool:
    if isinstance(leaf, UpstoxAuthError):
        return leaf.token_refused  # the same token again would be refused again
    return isinstance(leaf, _FATAL)


def is_fatal(exc: BaseException) -> bool:
    """Whether a restart would fail the same way: any fatal error among the leaves."""
    return any(_fatal_leaf(leaf) for leaf in leaf_errors(exc))


def describe(exc: BaseException) -> str:
    """One line naming the cause (the leaves of an exception group, joined)."""
    return "; ".join(f"{type(e).__name__}: {e}" for e in leaf_errors(exc))
