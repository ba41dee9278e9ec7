"""``questdb_ticks.frame``: the native ``ticks`` transpose equals the Python one, cell for
cell, and anything it does not take falls back to the Python path."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import require
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.store import questdb_ticks as qt

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
LEVEL = st.builds(DepthLevel, INT64, INT64, INT64, INT64)
TICK = st.builds(
    Tick,
    st.text(min_size=1, max_size=30),
    st.sampled_from(list(FeedMode)),
    st.integers(min_value=0, max_value=2**62),
    INT64, INT64, INT64, INT64, INT64, INT64, INT64, INT64, INT64, INT64,
    st.lists(LEVEL, max_size=3).map(tuple),
    st.just(()),
)  # fmt: skip


def _native_required() -> None:
    require(qt._native_tick_rows is not None, "quant_wire (tick_rows_to_columns) is not built")


def _python_frame(rows: list[Any], monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(qt, "_native_tick_rows", None)
        return qt.frame("ticks", rows)


@settings(max_examples=60, deadline=None)
@given(st.lists(TICK, min_size=1, max_size=40))
def test_native_ticks_frame_equals_the_python_one(ticks: list[Tick]) -> None:
    _native_required()
    native = qt._tick_frame_native(ticks)
    assert native is not None
    with pytest.MonkeyPatch.context() as m:
        m.setattr(qt, "_native_tick_rows", None)
        python = qt.frame("ticks", ticks)
    pd.testing.assert_frame_equal(native, python)
    assert list(native.columns) == list(qt.C.RAW_TICK_COLUMNS)
    assert all(native[c].to_numpy().flags.c_contiguous for c in native.columns[2:])


@pytest.mark.parametrize(
    "bad",
    [
        lambda t: t._replace(ltp=1.5),  # a float where an int belongs
        lambda t: t._replace(volume=None),
        lambda t: t._replace(instrument_key=b"NSE_EQ|X"),  # not a str
        lambda t: tuple(t)[:10],  # not a Tick
    ],
)
def test_rows_the_native_transpose_refuses_fall_back_to_python(
    bad: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _native_required()
    good = Tick("NSE_EQ|INE002A01018", FeedMode.FULL, 10, 11, 245_010, 9, 5, 244_000, 100)
    rows = [good, bad(good)]
    assert qt._tick_frame_native(rows) is None
    try:
        expected = _python_frame(rows, monkeypatch)
    except Exception as e:  # whatever the Python path raises, frame raises
        with pytest.raises(type(e)):
            qt.frame("ticks", rows)
    else:
        pd.testing.assert_frame_equal(qt.frame("ticks", rows), expected)


def test_an_empty_batch_gives_an_empty_frame_with_the_table_columns() -> None:
    _native_required()
    native = qt._tick_frame_native([])
    assert native is not None
    assert len(native) == 0 and list(native.columns) == list(qt.C.RAW_TICK_COLUMNS)
