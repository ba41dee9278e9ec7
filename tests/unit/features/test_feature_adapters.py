"""The feature service's adapters: analytics engine snapshots as bytes, option specs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from quant.analytics.columns import from_ticks
from quant.analytics.engine import FeatureEngine
from quant.analytics.engine_state import SnapshotError
from quant.analytics.rolling import HISTORY_COLUMNS
from quant.core.clock import FakeClock
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.features.adapters import AnalyticsEngine, option_specs, pack_state, unpack_state
from quant.features.ports import Piece, join_parts
from quant.features.snapshots import FileSnapshotStore

T0 = 1_796_183_100_000_000_000  # 2026-12-02 09:15 IST


def _ticks(start: int, n: int) -> list[Tick]:
    out = []
    for i in range(start, start + n):
        px = 150_000 + (i * 37) % 400
        out.append(
            Tick(
                "NSE_EQ|INE002A01018", FeedMode.FULL, T0 + i * 1_000_000_000, T0, px,
                ltt_ns=T0 + i * 1_000_000_000, ltq=5, volume=100 + 5 * i,
                depth=(DepthLevel(px - 10, 40, px + 10, 60),),
            )
        )  # fmt: skip
    return out


def _vwaps(engine: AnalyticsEngine, ticks: list[Tick]) -> list[float]:
    return engine.process(from_ticks(ticks)).features.session_vwap.tolist()


def test_snapshot_bytes_round_trip_continues_exactly() -> None:
    clock = FakeClock(T0)
    whole = AnalyticsEngine(FeatureEngine(clock))
    _vwaps(whole, _ticks(0, 50))
    expected = _vwaps(whole, _ticks(50, 50))
    first = AnalyticsEngine(FeatureEngine(clock))
    _vwaps(first, _ticks(0, 50))
    blob = first.snapshot()
    assert blob.startswith(b"QFE")  # binary: header + int64 arrays
    second = AnalyticsEngine(FeatureEngine(clock))
    second.restore(blob)
    assert _vwaps(second, _ticks(50, 50)) == expected
    # a JSON snapshot (the format before the binary one) still restores
    legacy = AnalyticsEngine(FeatureEngine(clock))
    legacy.restore(json.dumps(first.engine.snapshot()).encode())
    assert _vwaps(legacy, _ticks(50, 50)) == expected


def test_snapshot_parts_view_the_history_and_save_to_a_file(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    engine = AnalyticsEngine(FeatureEngine(clock))
    _vwaps(engine, _ticks(0, 50))
    serialise = engine.snapshot_later()
    levels = engine.engine._state.history
    _vwaps(engine, _ticks(50, 50))  # processing goes on after the capture
    parts = serialise()
    # the history levels go out as pieces named by level, views of their own memory
    pieces = [p for p in parts if isinstance(p, Piece)]
    viewed = [p.data.obj for p in pieces if isinstance(p.data, memoryview)]
    assert levels
    assert all(any(a is level.rows.ts for a in viewed) for level in levels)
    assert {p.ident for p in pieces} == {
        f"{level.ident}.{c}" for level in levels for c in HISTORY_COLUMNS
    }
    store = FileSnapshotStore(tmp_path / "snap" / "features.snap")
    store.save(parts)
    store.save(parts)  # replaces, no leftovers
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == [
        "features.snap",
        "features.snap.pieces",
    ]
    assert sorted(p.name for p in (tmp_path / "snap" / "features.snap.pieces").iterdir()) == sorted(
        p.ident for p in pieces
    )
    blob = store.load()
    assert blob is not None and blob == join_parts(parts)
    restored = AnalyticsEngine(FeatureEngine(clock))
    restored.restore(blob)  # the state as captured, before the second batch
    reference = AnalyticsEngine(FeatureEngine(clock))
    _vwaps(reference, _ticks(0, 50))
    assert _vwaps(restored, _ticks(50, 50)) == _vwaps(reference, _ticks(50, 50))


def test_snapshot_of_an_engine_with_empty_state_round_trips(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    fresh = AnalyticsEngine(FeatureEngine(clock))  # no instruments, history or candles
    store = FileSnapshotStore(tmp_path / "fresh.snap")
    store.save(fresh.snapshot_later()())
    blob = store.load()
    assert blob is not None
    restored = AnalyticsEngine(FeatureEngine(clock))
    restored.restore(blob)
    reference = AnalyticsEngine(FeatureEngine(clock))
    ours, theirs = _vwaps(restored, _ticks(0, 10)), _vwaps(reference, _ticks(0, 10))
    np.testing.assert_array_equal(ours, theirs)  # the first is NaN in both (no volume yet)


def test_binary_snapshot_rejects_damage() -> None:
    engine = AnalyticsEngine(FeatureEngine(FakeClock(T0)))
    _vwaps(engine, _ticks(0, 20))
    head, arrays = unpack_state(engine.snapshot())
    assert head["keys"] == ["NSE_EQ|INE002A01018"]
    assert arrays["history.0.ts"].shape == arrays["history.0.code"].shape
    with pytest.raises(ValueError, match="trailing"):
        unpack_state(engine.snapshot() + b"x")
    with pytest.raises(ValueError, match="not a binary"):
        unpack_state(b"{}")
    bad = dict(arrays)
    del bad["fields.day"]
    with pytest.raises(SnapshotError):
        engine.restore(pack_state(head, bad))


def test_option_specs_only_for_complete_options() -> None:
    under = "NSE_INDEX|Nifty 50"
    ce = Instrument(
        "NSE_FO|1", "NIFTY 25000 CE 08 DEC 26", "NIFTY", "NSE", "NSE_FO", InstrumentType.CALL,
        expiry=date(2026, 12, 8), strike_paise=2_500_000, underlying_key=under,
    )  # fmt: skip
    pe = Instrument(
        "NSE_FO|2", "NIFTY 25000 PE 08 DEC 26", "NIFTY", "NSE", "NSE_FO", InstrumentType.PUT,
        expiry=date(2026, 12, 8), strike_paise=2_500_000, underlying_key=under,
    )  # fmt: skip
    no_strike = Instrument(
        "NSE_FO|3", "X", "X", "NSE", "NSE_FO", InstrumentType.PUT, underlying_key=under
    )
    fut = Instrument(
        "NSE_FO|4", "NIFTY FUT", "NIFTY", "NSE", "NSE_FO", InstrumentType.FUTURE,
        expiry=date(2026, 12, 29), underlying_key=under,
    )  # fmt: skip
    specs = option_specs([ce, pe, no_strike, fut])
    assert set(specs) == {"NSE_FO|1", "NSE_FO|2"}
    assert specs["NSE_FO|1"].is_call
    assert not specs["NSE_FO|2"].is_call
    assert specs["NSE_FO|1"].strike == 2_500_000
    assert specs["NSE_FO|1"].underlying_key == under


def test_a_restored_engine_keeps_its_levels_names() -> None:
    clock = FakeClock(T0)
    engine = AnalyticsEngine(FeatureEngine(clock))
    _vwaps(engine, _ticks(0, 50))
    restored = AnalyticsEngine(FeatureEngine(clock))
    restored.restore(engine.snapshot())
    before = [level.ident for level in engine.engine._state.history]
    assert before and [level.ident for level in restored.engine._state.history] == before
