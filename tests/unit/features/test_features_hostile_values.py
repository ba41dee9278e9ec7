"""The feature service (real engine) on bus messages carrying hostile values.

The ingestor's decoders keep out-of-range feed values off the bus, but the feature
service reads whatever the bus holds (an older ingestor, a replay, another producer):
zero, negative and int64-extreme prices and quantities, timestamps at the ends of int64,
unknown modes, NaN/infinite greeks and undecodable bytes must not stop it. Each batch
mixes them with good ticks, which must still be enriched; the hostile ones are dropped
and counted (before the fix, an int64-extreme timestamp overflowed the engine's rolling
windows and ended the service).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry

from quant.analytics.columns import TickColumns
from quant.analytics.engine import FeatureEngine
from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock
from quant.core.events import Candle, FeedMode, OptionGreeks, Tick
from quant.features.adapters import AnalyticsEngine
from quant.features.metrics import FeatureMetrics
from quant.features.ports import EngineOutput
from quant.features.service import INPUT_TOPICS, FeatureService, FeatureServiceConfig
from quant.features.snapshots import MemorySnapshotStore
from quant.pb.marketdata.v1 import marketdata_pb2 as mpb

T0 = 1_796_000_000_000_000_000
I64_MAX, I64_MIN = 2**63 - 1, -(2**63)


class CountingSink:
    def __init__(self) -> None:
        self.ticks = 0

    def write_ticks(self, ticks: TickColumns, out: EngineOutput) -> None:
        self.ticks += len(ticks.keys)

    def write_greeks(self, greeks: Sequence[OptionGreeks]) -> None:
        del greeks

    def write_candles(self, candles: Sequence[Candle]) -> None:
        del candles

    def flush(self) -> None:
        pass


def hostile_tick(i: int) -> bytes:
    """A bus Tick with one extreme field (by ``i``)."""
    m = mpb.Tick(instrument_key="NSE_EQ|A", mode=2, ts_event=T0 + i, ts_init=T0 + i)
    m.ltp_paise, m.ltq = 10_000, 1
    field, value = [
        ("ltp_paise", 0),
        ("ltp_paise", -500),
        ("ltp_paise", I64_MAX),
        ("ltp_paise", I64_MIN),
        ("ltq", -1),
        ("ltq", I64_MAX),
        ("volume_traded_today", I64_MAX),
        ("oi", I64_MIN),
        ("ts_event", 0),
        ("ts_event", I64_MAX),
        ("ts_event", I64_MIN),
        ("ltt_ns", I64_MIN),
        ("atp_paise", I64_MAX),
        ("mode", 99),
    ][i % 14]
    setattr(m, field, value)
    level = m.depth.add()
    level.bid_price_paise, level.ask_price_paise = (I64_MIN, I64_MAX) if i % 2 else (-1, 0)
    m.ohlc.add(interval="I1", open_paise=I64_MAX, low_paise=I64_MIN, volume=-1, ts_ns=I64_MIN)
    return m.SerializeToString()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflow/invalid on garbage
def test_hostile_bus_values_do_not_stop_the_feature_service() -> None:
    bus = InProcessBus()
    pub = bus.publisher()
    good = 0
    for i in range(56):
        pub.publish(topics.TICKS.name, "NSE_EQ|A", hostile_tick(i))
        tick = Tick("NSE_EQ|B", FeedMode.FULL, T0 + i, T0 + i, 20_000 + i, ltq=2)
        pub.publish(topics.TICKS.name, "NSE_EQ|B", codecs.encode_tick(tick))
        good += 1
        greeks = OptionGreeks("NSE_FO|1", T0, T0, 1, math.nan, math.inf, -math.inf, 0, 0, 0)
        pub.publish(topics.GREEKS.name, "NSE_FO|1", codecs.encode_greeks(greeks))
    pub.publish(topics.TICKS.name, "NSE_EQ|A", b"\xff\x00garbage")
    clock = FakeClock(T0)
    sink = CountingSink()
    registry = CollectorRegistry()
    svc = FeatureService(
        consumer=bus.consumer("features", list(INPUT_TOPICS)),
        publisher=bus.publisher(),
        engine=AnalyticsEngine(FeatureEngine(clock)),
        sink=sink,
        snapshots=MemorySnapshotStore(),
        metrics=FeatureMetrics(registry),
        clock=clock,
        config=FeatureServiceConfig(batch_size=16, poll_timeout_s=0.0, checkpoint_interval_s=0),
    )
    svc.restore()
    while svc.step():
        pass
    svc.close()
    assert sink.ticks == good  # every good tick enriched, no hostile one
    # mode 99 (4 of the 56) and the garbage are undecodable; the other 52 out of range
    assert registry.get_sample_value("features_decode_errors_total") == 5
    assert registry.get_sample_value("features_rejected_ticks_total") == 52
