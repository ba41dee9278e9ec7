"""``Annotated`` dependency aliases: how routers get the ports ``create_app`` installed.

``create_app`` stores a :class:`GatewayPorts` on ``app.state.ports``; routers declare
``market: MarketDep`` / ``instruments: InstrumentsDep`` and never build adapters;
``source: SourceDep`` is the market source the quotes are labelled with; ``history:
HistoryDep`` is the tick store's candles and scanner picks (503 when the gateway has
none); the trading endpoints forward to ``ports.execution``; endpoints that
need an API key take ``caller: Annotated[Caller, Depends(require_role(...))]``
(:mod:`quant.gateway.auth`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request
from prometheus_client import CollectorRegistry, Counter

from quant.core.clock import Clock, SystemClock
from quant.core.freshness import DEFAULT_STALE_AFTER_S
from quant.gateway.login_metrics import LoginMetrics
from quant.gateway.ports import (
    AccountDirectory,
    ExecutionPort,
    HistoryReader,
    InstrumentLookup,
    MarketReadModel,
    Readiness,
)
from quant.gateway.sessions import SessionStore
from quant.gateway.settings import MarketSource
from quant.users.access import KeyVerifier

if TYPE_CHECKING:  # the hub renders with the routers' models, which import this module
    from quant.gateway.stream_hub import StreamHub


class _AlwaysReady:
    def ready(self) -> tuple[bool, list[str]]:
        return True, []


@dataclass
class GatewayPorts:
    """Everything the routers read."""

    market: MarketReadModel
    instruments: InstrumentLookup
    readiness: Readiness = field(default_factory=_AlwaysReady)
    registry: CollectorRegistry | None = None
    clock: Clock = field(default_factory=SystemClock)  # the age of a quote
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    # API keys (quant.gateway.auth): None = no user store, keyed endpoints answer 503
    users: KeyVerifier | None = None
    # gateway_auth_failures_total{reason}, made once per process (auth.failures_counter)
    auth_failures: Counter | None = None
    # the execution service the trading endpoints forward to (None: they answer 503)
    execution: ExecutionPort | None = None
    # stored candles and scanner picks (the tick store); None: those endpoints answer 503
    history: HistoryReader | None = None
    # the stream API's fan-out, fed by the bus feeder (None: create_app makes one; then
    # nothing feeds it but a test)
    stream: StreamHub | None = None
    # passwords and session users (the login page); None: login answers 503
    accounts: AccountDirectory | None = None
    # browser sessions; None: create_app keeps them in memory (one gateway process)
    sessions: SessionStore | None = None
    # the time sessions and the login lockout count in: the wall clock unless given (not
    # ``clock``, which is the market's and may be a replay's)
    session_clock: Clock | None = None
    # gateway_login_failures_total / _lockouts_total, made once per process
    login_metrics: LoginMetrics | None = None


def get_ports(request: Request) -> GatewayPorts:
    ports: GatewayPorts = request.app.state.ports
    return ports


def get_market(request: Request) -> MarketReadModel:
    return get_ports(request).market


def get_instruments(request: Request) -> InstrumentLookup:
    return get_ports(request).instruments


def get_source(request: Request) -> MarketSource:
    """Where the market data comes from (``sim`` or ``upstox``): the gateway's setting."""
    source: MarketSource = request.app.state.source
    return source


NO_HISTORY = (
    "this gateway has no tick store (QUANT_TICK_STORE=none): stored candles and scanner "
    "picks are not available"
)


def get_history(request: Request) -> HistoryReader:
    """The tick store's candles and scanner picks; 503 when the gateway has none."""
    history = get_ports(request).history
    if history is None:
        raise HTTPException(status_code=503, detail=NO_HISTORY)
    return history


PortsDep = Annotated[GatewayPorts, Depends(get_ports)]
MarketDep = Annotated[MarketReadModel, Depends(get_market)]
InstrumentsDep = Annotated[InstrumentLookup, Depends(get_instruments)]
SourceDep = Annotated[MarketSource, Depends(get_source)]
HistoryDep = Annotated[HistoryReader, Depends(get_history)]
