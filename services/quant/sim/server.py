"""``SimServer``: run the simulator in-process (tests, ``quant up``) or from ``quant sim``.

    async with SimServer(SimConfig(seed=1, speed=60)) as sim:
        token = sim.mint_token()
        ... httpx against sim.base_url, websockets against sim.ws_url ...
        sim.drop_feeds()            # fault hooks (also silence, refuse, slow, bad prices)

Binds ``config.port`` (0 = any free port) with uvicorn (``websockets-sansio`` protocol, so
the feed handshake can be refused or redirected before the upgrade and the server sends
standard pings every ``config.ping_interval`` s), and steps the market every
``config.step_interval`` wall seconds, fanning each step out to the feed connections.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from quant.core.clock import NS_PER_MS
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.sim import frames, wire
from quant.sim.app import create_app
from quant.sim.config import SimConfig
from quant.sim.errors import SimApiError
from quant.sim.feed import FeedConnection, FeedHub
from quant.sim.market import Market
from quant.sim.portfolio import PortfolioHub
from quant.sim.simclock import SimClock
from quant.sim.state import SimState

log = logging.getLogger(__name__)


class _DenialNoiseFilter(logging.Filter):
    """uvicorn's sans-io protocol logs a false error after a websocket denial response."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing handshake" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DenialNoiseFilter())


def _protocol(conn: FeedConnection) -> Any:
    """The uvicorn protocol object behind a Starlette websocket (for transport faults)."""
    receive = getattr(conn.ws, "_receive", None)
    return getattr(receive, "__self__", None)


def _discard_input(proto: Any) -> None:
    """Stop answering a connection but keep reading it, to see its end (EOF or reset).

    uvicorn's protocol answers pings and queues messages from ``data_received``; bytes
    now go nowhere instead, while the transport keeps reading so that ``eof_received`` /
    ``connection_lost`` still end the connection (uvicorn then tells the app it is gone).
    """
    proto.stop_keepalive()
    proto.data_received = lambda data: None  # shadows the method on this connection only
    if proto.read_paused:  # paused while a message waited for the app: read on
        proto.read_paused = False
        proto.transport.resume_reading()


class SimTokenSource:
    """The embedded simulator's token, as a reloadable token source (``quant up``).

    Its user "logs in again" when asked to reload after the token stopped being valid
    (expired at 03:30 IST on the simulated clock, or revoked by a fault): a new token is
    minted, as ``quant auth login`` would write one for Upstox.
    """

    where = "the embedded simulator's login"

    def __init__(self, sim: SimServer) -> None:
        self._sim = sim
        self._token = sim.mint_token()

    def __call__(self) -> str:
        return self._token

    def reload(self) -> None:
        try:
            self._sim.state.tokens.validate(f"Bearer {self._token}")
        except SimApiError:
            self._token = self._sim.mint_token()


class SimServer:
    """One running simulator: HTTP + websocket server and the market loop."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._state: SimState | None = None
        self._server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_file: Path | None = None

    # ---- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        self._state = await asyncio.to_thread(SimState, cfg)
        app = create_app(self._state)
        self._hub: FeedHub = app.state.feed_hub
        self._portfolio: PortfolioHub = app.state.portfolio_hub
        ssl: dict[str, Any] = {}
        if cfg.tls:
            from quant.sim.tls import write_self_signed

            self._tmp = tempfile.TemporaryDirectory(prefix="quant-sim-tls-")
            ca, cert, key = write_self_signed(Path(self._tmp.name), cfg.host)
            self.ca_file = ca
            ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        uv = uvicorn.Config(
            app,
            host=cfg.host,
            port=cfg.port,
            ws="websockets-sansio",
            lifespan="off",
            ws_ping_interval=cfg.ping_interval,
            ws_ping_timeout=cfg.ping_interval,
            log_level="warning",
            access_log=False,
            **ssl,
        )
        self._server = uvicorn.Server(uv)
        serve = asyncio.create_task(self._server.serve(), name="sim-uvicorn")
        self._tasks.append(serve)
        while not self._server.started:
            if serve.done():
                await serve
                raise RuntimeError("simulator server failed to start")
            await asyncio.sleep(0.01)
        sock = self._server.servers[0].sockets[0]
        self._port = int(sock.getsockname()[1])
        self._tasks.append(asyncio.create_task(self._market_loop(), name="sim-market"))
        log.info(
            "simulator listening on %s (seed %s, speed %s)", self.base_url, cfg.seed, cfg.speed
        )

    async def stop(self) -> None:
        """Stop serving and the market loop; re-raise a market-loop failure after cleanup."""
        if self._server is not None:
            self._server.should_exit = True
        failure: BaseException | None = None
        for task in self._tasks:
            if task.get_name() == "sim-market":
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if task.get_name() != "sim-market":
                    raise
            except Exception as exc:  # re-raised below, once everything is shut down
                failure = failure or exc
        self._tasks.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if failure is not None:
            raise failure

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Run until the uvicorn server exits (Ctrl-C in ``quant sim``) or the market loop
        fails (its exception propagates: a simulator without a market must not limp on)."""
        done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()

    async def _market_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.config.step_interval
        state = self.state
        while True:
            started = loop.time()
            rows = state.market.step()
            state.engine.on_step()
            self._hub.publish(rows)
            await asyncio.sleep(max(0.0, interval - (loop.time() - started)))

    # ---- addresses and handles ----------------------------------------------------
    @property
    def state(self) -> SimState:
        if self._state is None:
            raise RuntimeError("SimServer is not started")
        return self._state

    @property
    def market(self) -> Market:
        return self.state.market

    @property
    def clock(self) -> SimClock:
        return self.state.clock

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{self.config.host}:{self._port}"

    @property
    def ws_url(self) -> str:
        """The market-data feed handshake URL (answers a redirect)."""
        scheme = "wss" if self.config.tls else "ws"
        return f"{scheme}://{self.config.host}:{self._port}/v3/feed/market-data-feed"

    @property
    def feed_hub(self) -> FeedHub:
        return self._hub

    def mint_token(self, user_id: str | None = None) -> str:
        """A valid access token (expires 03:30 IST next on the simulated clock)."""
        return self.state.tokens.mint(user_id)

    def token_source(self) -> SimTokenSource:
        """A token source for an embedded client (``quant up``): see :class:`SimTokenSource`."""
        return SimTokenSource(self)

    # ---- fault hooks --------------------------------------------------------------
    def drop_feeds(self) -> int:
        """Abort every feed socket's TCP connection (no close frame); returns how many."""
        conns = list(self._hub.conns)
        for conn in conns:
            proto = _protocol(conn)
            if proto is not None and getattr(proto, "transport", None) is not None:
                proto.transport.abort()
        return len(conns)

    def drop_portfolio_streams(self) -> int:
        """Abort every portfolio-stream socket's TCP connection; returns how many."""
        sockets = self._portfolio.sockets()
        for ws in sockets:
            proto = getattr(getattr(ws, "_receive", None), "__self__", None)
            if proto is not None and getattr(proto, "transport", None) is not None:
                proto.transport.abort()
        return len(sockets)

    def silence_feeds(self) -> int:
        """Feed sockets go quiet: no data, no pings, and pings from the client unanswered.

        Like a stalled server, a silenced socket still notices its TCP connection closing:
        what the client sends is read and thrown away (so it is never answered), and the
        end of the stream ends the connection at once, so the per-user connection count
        stays true when the client gives up on the socket and reconnects.
        """
        conns = list(self._hub.conns)
        for conn in conns:
            conn.silent = True
            while not conn.queue.empty():  # frames not yet written are never sent
                conn.queue.get_nowait()
            proto = _protocol(conn)
            if proto is not None:
                _discard_input(proto)
        return len(conns)

    def refuse_feeds(self, status: int = 403, count: int = -1) -> None:
        """The next ``count`` feed handshakes or market ``/authorize`` calls (-1: all until
        cleared) get HTTP ``status``."""
        self.state.faults.refuse_feed_status = status
        self.state.faults.refuse_feed_count = count

    def clear_feed_refusal(self) -> None:
        self.state.faults.refuse_feed_status = None
        self.state.faults.refuse_feed_count = 0

    def slow_feeds(self, delay_seconds: float) -> None:
        """Delay every outgoing feed frame by ``delay_seconds`` (0 to stop)."""
        self.state.faults.feed_delay = delay_seconds

    def send_bad_prices(self, prices: Mapping[str, float]) -> int:
        """Every feed connection gets one live LTPC frame with these last prices (rupees:
        1e17, 0, -5, NaN...), stamped with the simulated clock like any other frame;
        returns how many connections it was queued for."""
        now_ms = self.clock.now_ns() // NS_PER_MS
        entries = [
            frames.map_entry(key, wire.feed(1, wire.ltpc(price, now_ms, 1, 0.0), 0))
            for key, price in prices.items()
        ]
        data = frames.frame(pb.live_feed, entries, now_ms)
        conns = [c for c in self._hub.conns if not c.silent]
        for conn in conns:
            conn.offer(data)
        return len(conns)

    def expire_tokens(self) -> None:
        """Invalidate every issued token (as if 03:30 IST had passed)."""
        self.state.tokens.expire_all()

    def fail_next_rest(self, status: int = 500, code: str = "UDAPI100500", count: int = 1) -> None:
        """The next ``count`` authenticated REST calls fail with ``status``/``code``."""
        self.state.faults.rest_failures.extend([(code, status)] * count)

    def lose_order_answers(self, count: int = 1, hold_seconds: float = 5.0) -> None:
        """Execute the next ``count`` order commands (place/modify/cancel) but hold each
        answer back ``hold_seconds``: the order exists while the client times out."""
        self.state.faults.held_order_answers = count
        self.state.faults.held_answer_seconds = hold_seconds

    def serve_master(self, exchange: str | None, rows: list[dict[str, object]]) -> None:
        """Serve ``rows`` as the instrument master file of ``exchange`` ("NSE", "BSE",
        None = complete.json.gz) instead of the universe's (e.g. a truncated or damaged
        copy of ``state.universe.exchange_rows(exchange)``)."""
        self.state.faults.master_rows[exchange] = rows

    def slow_master(self, seconds_per_chunk: float) -> None:
        """Stream the instrument master files in 64 KiB chunks, pausing before each."""
        self.state.faults.master_chunk_delay = seconds_per_chunk

    def restore_master(self) -> None:
        """Serve the universe's own instrument master again, at full speed."""
        self.state.faults.master_rows.clear()
        self.state.faults.master_chunk_delay = 0.0
