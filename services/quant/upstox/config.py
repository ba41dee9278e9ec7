"""Tunables of the Upstox adapter's clients (timeouts, retries, reconnects, limits).

Built by a service's composition root (usually from its settings) and passed to
:class:`quant.upstox.rest.UpstoxRestClient` and :class:`quant.upstox.feed.UpstoxFeedClient`.
Hosts come from :class:`quant.upstox.settings.UpstoxSettings` so the same code talks to Upstox or to
the simulator.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from quant.upstox.checks import TickLimits
from quant.upstox.constants import API_BASE, HFT_BASE


@dataclass(frozen=True, slots=True)
class RestConfig:
    """How the REST client reaches Upstox and how patient it is."""

    api_base: str = API_BASE
    hft_base: str = HFT_BASE
    timeout_seconds: float = 10.0
    max_retries: int = 3
    backoff_base_seconds: float = 0.25
    backoff_max_seconds: float = 5.0
    algo_name: str | None = None
    ca_file: Path | None = None
    registered_algo: bool = False


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """How the feed client connects, watches liveness and reconnects."""

    api_base: str = API_BASE
    use_authorize: bool = False
    ca_file: Path | None = None
    open_timeout_seconds: float = 10.0
    silence_timeout_seconds: float = 10.0
    ping_interval_seconds: float | None = 5.0  # our keepalive pings (None: off)
    reconnect_base_seconds: float = 0.2
    reconnect_max_seconds: float = 30.0
    stable_after_seconds: float = 5.0  # a connection this old resets the backoff
    queue_size: int = 1024
    enforce_limits: bool = True
    upstox_plus: bool = False
    tick_limits: TickLimits = field(default_factory=TickLimits)  # checks of every frame


def make_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """A verifying TLS context (hostname + chain), trusting ``ca_file`` too if given."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context
