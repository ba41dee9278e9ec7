"""Helpers of the pipeline integration tests: simulator -> ingestor -> Kafka -> features.

Not a test module. It builds a simulator on a fixed trading day (so the rows these
tests write to the shared QuestDB never collide with other tests'), picks a small
universe (a few equities whose trades the simulator records, the NIFTY index and
near-the-money NIFTY options of a non-expiring expiry), runs the ingestor and the
feature service in-process against real Kafka, and computes reference values straight
from the simulator's trade tape.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from quant.bus import topics
from quant.bus.port import Bus, Consumer, Publisher
from quant.bus.settings import KafkaSettings
from quant.bus.topics import Topic
from quant.core.clock import IST, NS_PER_MS, SystemClock, datetime_to_ns
from quant.core.events import Candle, FeedMode
from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.core.universe import Universe
from quant.features.main import build_feature_service
from quant.features.ports import TickSink
from quant.features.service import FeatureService
from quant.features.settings import FeaturesSettings
from quant.features.snapshots import MemorySnapshotStore
from quant.ingestor.main import run_ingestor
from quant.ingestor.settings import IngestorSettings
from quant.sim.config import SimConfig
from quant.sim.market import SimTrade
from quant.sim.server import SimServer
from quant.upstox.checks import TickLimits
from quant.upstox.instruments import UpstoxInstrumentSource
from quant.upstox.settings import UpstoxSettings

# A Wednesday, in pre-open: at speed 20 the market opens ~18 s (wall) after the start,
# by when the tapes are recording and the ingestor has subscribed, so every trade of the
# day is seen.
SIM_START = datetime(2026, 12, 2, 9, 9, 0, tzinfo=IST)
EQUITIES = ("RELIANCE", "INFY", "TCS", "HDFCBANK")


def sim_config(speed: float = 20.0, seed: int = 11, start: datetime = SIM_START) -> SimConfig:
    """Each test module uses its own ``start`` day, so rows in the shared QuestDB never mix."""
    return SimConfig(
        seed=seed, speed=speed, start=start, step_interval=0.25, rate_limits=False, port=0
    )


def day_bounds_ns(start: datetime) -> tuple[int, int]:
    day = datetime_to_ns(start.replace(hour=0, minute=0, second=0))
    return day, day + 86_400 * 1_000_000_000


def noop(phase: str, done: int, total: int) -> None:
    del phase, done, total


@dataclass
class Market:
    """The simulator plus the resolved universe of one test."""

    sim: SimServer
    index: InstrumentIndex
    equities: list[Instrument]
    options: list[Instrument]
    underlying: Instrument
    token: str = ""

    @property
    def universe(self) -> Universe:
        modes = {i.instrument_key: FeedMode.FULL for i in [*self.equities, *self.options]}
        modes[self.underlying.instrument_key] = FeedMode.FULL
        return Universe(modes=modes)


def track_equities(sim: SimServer) -> None:
    """Start recording the equities' trades at once (before the market opens)."""
    for row in sim.state.universe.rows:
        if row["segment"] == "NSE_EQ" and row["trading_symbol"] in EQUITIES:
            sim.market.track(str(row["instrument_key"]))


async def open_market(sim: SimServer, strikes_each_side: int = 3) -> Market:
    track_equities(sim)
    instruments = await UpstoxInstrumentSource(sim.base_url).fetch(noop)
    index = InstrumentIndex.build(instruments)
    equities = [index.resolve(s) for s in EQUITIES]
    assert all(e is not None for e in equities)
    nifty = index.resolve("NIFTY 50")
    assert nifty is not None
    chain = index.option_chain(nifty.instrument_key)
    expiries = sorted({o.expiry for o in chain if o.expiry is not None})
    expiry = next(e for e in expiries if e > SIM_START.date())  # not the expiring one
    strikes = sorted({o.strike_paise or 0 for o in chain if o.expiry == expiry})
    spot_paise = 26_000 * 100
    atm = min(strikes, key=lambda k: abs(k - spot_paise))
    i = strikes.index(atm)
    near = set(strikes[max(i - strikes_each_side, 0) : i + strikes_each_side + 1])
    options = [o for o in chain if o.expiry == expiry and o.strike_paise in near]
    return Market(sim, index, [e for e in equities if e], options, nifty, sim.mint_token())


class RecordingPublisher:
    """A ``Publisher`` that remembers every tick handed to it (what must reach QuestDB)."""

    def __init__(self, inner: Publisher, sent: list[tuple[str, bytes]]) -> None:
        self._inner = inner
        self._sent = sent

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self._inner.publish(topic, key, value)
        if topic == topics.TICKS.name:
            self._sent.append((key, value))

    def flush(self, timeout: float = 30.0) -> None:
        self._inner.flush(timeout)

    def close(self) -> None:
        self._inner.close()


@dataclass
class RecordingBus:
    """A ``Bus`` whose publishers record the ticks they publish."""

    inner: Bus
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def ensure_topics(self, wanted: Any) -> None:
        self.inner.ensure_topics(wanted)

    def publisher(self) -> RecordingPublisher:
        return RecordingPublisher(self.inner.publisher(), self.sent)

    def consumer(self, group_id: str, names: Sequence[str], *, from_end: bool = False) -> Consumer:
        return self.inner.consumer(group_id, names, from_end=from_end)


def ingestor_settings(market: Market, bootstrap: str) -> IngestorSettings:
    return IngestorSettings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        upstox=UpstoxSettings(api_base=market.sim.base_url, assets_base=market.sim.base_url),
        control_group=f"ingestor-control-{uuid.uuid4().hex[:8]}",
        # the simulator runs a fixed date while the ingestor's clock is the wall clock
        tick_limits=TickLimits(session_window=False),
    )


async def run_ingestor_for(
    market: Market,
    bus: Bus,
    bootstrap: str,
    stop: asyncio.Event,
) -> None:
    await run_ingestor(
        ingestor_settings(market, bootstrap),
        bus=bus,
        token=lambda: market.token,
        universe=market.universe,
        registry=CollectorRegistry(),
        clock=SystemClock(),
        stop=stop,
    )


def live_feature_service(
    bus: Bus, bootstrap: str, sink: TickSink, market: Market, registry: CollectorRegistry
) -> FeatureService:
    """``quant features`` as its composition root builds it, in a fresh group, with short
    checkpoints and a drain on close (the tests stop it right after the feed)."""
    settings = FeaturesSettings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        group_id=f"features-{uuid.uuid4().hex[:8]}",
        checkpoint_interval_s=0.5,
        drain_s=10.0,
    )
    return build_feature_service(
        settings,
        bus=bus,
        sink=sink,
        snapshots=MemorySnapshotStore(),
        options=market.options,
        registry=registry,
        clock=SystemClock(),
    )


async def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.1)


def tape_until(trades: Sequence[SimTrade], last_ltt_ns: int) -> list[SimTrade]:
    """The simulator's trades up to (and including) the last one the pipeline saw."""
    return [t for t in trades if t.ts_ns // NS_PER_MS * NS_PER_MS <= last_ltt_ns]


def tape_vwap(trades: Sequence[SimTrade]) -> float:
    pv = sum(t.price * t.qty for t in trades)
    v = sum(t.qty for t in trades)
    return pv / v if v else math.nan


def tape_candles(key: str, trades: Sequence[SimTrade]) -> dict[int, Candle]:
    """1-minute candles of the tape, keyed by minute start (UTC-aligned = IST-aligned)."""
    out: dict[int, Candle] = {}
    minute = 60_000_000_000
    for t in trades:
        start = (t.ts_ns // NS_PER_MS * NS_PER_MS) // minute * minute
        c = out.get(start)
        if c is None:
            out[start] = Candle(key, 60, start, t.price, t.price, t.price, t.price, t.qty, 0, 1)
        else:
            out[start] = c._replace(
                high=max(c.high, t.price),
                low=min(c.low, t.price),
                close=t.price,
                volume=c.volume + t.qty,
                trade_count=c.trade_count + 1,
            )
    return out


def private_topics() -> list[Topic]:
    return list(topics.ALL_TOPICS)
