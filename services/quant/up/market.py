"""Where ``quant up`` gets its market: the embedded simulator, or the user's Upstox account.

:func:`open_market` yields a :class:`Market`: the Upstox section the services use (hosts,
CA file), the instrument master (downloaded and validated once; the rows its download
dropped as impossible go with it, for the instrument sync to judge), the access-token
source, and a line for the log and the banner.

- ``sim``: a :class:`~quant.sim.server.SimServer` on a free port with a token minted
  for its one user, minted again if the simulator refuses it
  (:class:`~quant.sim.server.SimTokenSource`);
- ``upstox``: the hosts of ``settings.upstox`` (``QUANT_UPSTOX__API_BASE`` ...: Upstox by
  default, anywhere a user points them) and the token ``quant auth login`` stored at
  ``QUANT_UPSTOX__TOKEN_FILE``. Before anything starts, :func:`check_token` makes sure
  there is a token, its saved expiry is ahead, and Upstox still accepts it (one
  ``/v2/user/profile`` call: a 401 means expired or revoked); otherwise
  :class:`MarketUnavailable` says what is wrong and what to run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import timedelta

from quant.core.clock import IST, Clock, ns_to_datetime
from quant.core.instruments import SEGMENTS, Instrument
from quant.gateway.settings import MarketSource
from quant.sim.config import SimConfig, default_start
from quant.sim.server import SimServer
from quant.sync.service import validate_master
from quant.up.settings import UpSettings
from quant.upstox.auth import AccessToken, FileTokenStore, StoredTokenSource
from quant.upstox.config import RestConfig
from quant.upstox.errors import UpstoxAuthError, UpstoxError
from quant.upstox.instruments import UpstoxInstrumentSource
from quant.upstox.rest import UpstoxRestClient
from quant.upstox.settings import UpstoxSettings

log = logging.getLogger(__name__)

LOGIN_HINT = "run `quant auth login` (with the same QUANT_UPSTOX__* settings)"


class MarketUnavailable(RuntimeError):
    """``quant up`` cannot start on its market source; the message says why and what to do."""


@dataclass(frozen=True)
class Market:
    """What the services are built on: hosts, instruments, token, and what to call it."""

    source: MarketSource
    upstox: UpstoxSettings
    instruments: Sequence[Instrument]
    token: Callable[[], str]
    description: str  # e.g. "upstox (https://api.upstox.com)", for the log and the banner
    clock: Clock  # the market's time (the simulator's day runs in its own)
    # what the master's download dropped as impossible, and the segments its files list
    # (the instrument sync judges them: quant.sync.checks)
    rejected: Mapping[tuple[str, str], int] = field(default_factory=dict)
    rejected_examples: Mapping[str, str] = field(default_factory=dict)
    segments: AbstractSet[str] = SEGMENTS


def _quiet(phase: str, done: int, total: int) -> None:
    del phase, done, total


def _sim_config(settings: UpSettings, clock: Clock) -> SimConfig:
    today = ns_to_datetime(clock.now_ns(), IST).date()
    pre_open = default_start(today)  # 09:14 IST on the next trading day
    start = pre_open + timedelta(minutes=1 + settings.sim_start_minutes_after_open)
    return SimConfig(seed=settings.sim_seed, speed=settings.sim_speed, start=start, port=0)


async def _master(upstox: UpstoxSettings) -> tuple[list[Instrument], UpstoxInstrumentSource]:
    """The downloaded master, and its source (what it rejected, the segments it lists)."""
    source = UpstoxInstrumentSource(upstox.assets_base, ca_file=upstox.ca_file)
    try:
        instruments = await source.fetch(_quiet)
    except UpstoxError as e:
        raise MarketUnavailable(
            f"cannot download the instrument master from {upstox.assets_base}: {e}"
        ) from e
    validate_master(instruments, min_rows=1)
    return instruments, source


async def check_token(upstox: UpstoxSettings, clock: Clock) -> AccessToken:
    """The stored token, if Upstox (at ``upstox.api_base``) accepts it; else
    :class:`MarketUnavailable` with the reason (none, unreadable, expired, rejected)."""
    path = upstox.token_file
    try:
        token = FileTokenStore(path).load()
    except (UpstoxError, OSError) as e:
        raise MarketUnavailable(
            f"cannot read the Upstox token file {path}: {e}; {LOGIN_HINT}"
        ) from e
    if token is None:
        raise MarketUnavailable(f"no Upstox access token at {path}: {LOGIN_HINT} first")
    if token.is_expired(clock.now_ns()):
        raise MarketUnavailable(f"the {token.describe()} at {path} has expired: {LOGIN_HINT}")
    config = RestConfig(api_base=upstox.api_base, hft_base=upstox.hft_base, ca_file=upstox.ca_file)
    secret = token.token.get_secret_value()
    try:
        async with UpstoxRestClient(lambda: secret, config) as rest:
            profile = await rest.user_profile()
    except UpstoxAuthError as e:
        raise MarketUnavailable(
            f"Upstox at {upstox.api_base} refused the token at {path} "
            f"(expired or revoked: {e}): {LOGIN_HINT}"
        ) from e
    except OSError as e:  # ssl.SSLError too: the CA file is missing or not a PEM bundle
        raise MarketUnavailable(
            f"cannot use the CA file {upstox.ca_file} (QUANT_UPSTOX__CA_FILE): {e}"
        ) from e
    except UpstoxError as e:
        raise MarketUnavailable(
            f"cannot check the Upstox token at {upstox.api_base}: {e} "
            "(are QUANT_UPSTOX__API_BASE and QUANT_UPSTOX__CA_FILE right?)"
        ) from e
    log.info("Upstox token of %s accepted by %s", profile.user_id, upstox.api_base)
    return token


@contextlib.asynccontextmanager
async def _sim_market(settings: UpSettings, clock: Clock) -> AsyncIterator[Market]:
    async with SimServer(_sim_config(settings, clock)) as sim:
        url = sim.base_url
        upstox = UpstoxSettings(api_base=url, hft_base=url, assets_base=url)
        token = sim.token_source()  # a refused token: the simulator's user logs in again
        instruments, source = await _master(upstox)
        yield Market(
            "sim",
            upstox,
            instruments,
            token,
            f"sim (the simulator at {url})",
            sim.clock,
            source.rejected,
            source.rejected_examples,
            source.segments,
        )


@contextlib.asynccontextmanager
async def _upstox_market(settings: UpSettings, clock: Clock) -> AsyncIterator[Market]:
    upstox = settings.upstox
    await check_token(upstox, clock)
    token = StoredTokenSource(FileTokenStore(upstox.token_file), clock)  # re-read if rotated
    description = f"upstox ({upstox.api_base})"
    instruments, source = await _master(upstox)
    yield Market(
        "upstox",
        upstox,
        instruments,
        token,
        description,
        clock,
        source.rejected,
        source.rejected_examples,
        source.segments,
    )


def open_market(
    settings: UpSettings, clock: Clock
) -> contextlib.AbstractAsyncContextManager[Market]:
    """The market of ``settings.source``, open for the life of the platform."""
    if settings.source == "upstox":
        return _upstox_market(settings, clock)
    return _sim_market(settings, clock)
