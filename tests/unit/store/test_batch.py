"""Typed column batches (``quant.store.batch`` + the generated ``quant.store.tables``): what
a tick-store ``write`` takes, checked when it is made; split and joined in order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quant.store.batch import concat
from quant.store.tables import (
    FEATURE_COLUMNS,
    FLOAT_COLUMNS,
    OHLC_COLUMNS,
    RAW_TICK_COLUMNS,
    TICK_COLUMNS,
    CandleBatch,
    TickBatch,
    TickFeatures,
)


def _values(names: tuple[str, ...], n: int, start: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in names:
        if c == "instrument_key":
            out[c] = [f"NSE_EQ|K{i}" for i in range(start, start + n)]
        else:
            dtype = np.float64 if c in FLOAT_COLUMNS else np.int64
            out[c] = np.arange(start, start + n, dtype=dtype)
    return out


def ticks(n: int, start: int = 0, features: bool = True) -> TickBatch:
    group = TickFeatures(**_values(FEATURE_COLUMNS, n, start)) if features else None
    return TickBatch(**_values(RAW_TICK_COLUMNS, n, start), features=group)


def test_a_tick_batch_with_features_has_every_column_in_table_order() -> None:
    batch = ticks(3)
    assert batch.layout == TICK_COLUMNS
    assert tuple(batch.columns()) == TICK_COLUMNS
    assert len(batch) == 3


def test_a_tick_batch_without_features_has_the_raw_columns_only() -> None:
    batch = ticks(3, features=False)
    assert batch.layout == RAW_TICK_COLUMNS == tuple(batch.columns())


def test_features_come_all_or_none() -> None:
    some = _values(FEATURE_COLUMNS[:3], 2)
    with pytest.raises(TypeError, match="missing"):
        TickFeatures(**some)


def test_a_column_the_table_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="session_vwp"):
        CandleBatch(**_values(OHLC_COLUMNS, 2), session_vwp=np.zeros(2))  # type: ignore[call-arg]


def test_columns_of_different_lengths_are_refused() -> None:
    values = _values(OHLC_COLUMNS, 3)
    values["open"] = values["open"][:2]
    with pytest.raises(ValueError, match=r"different lengths \(ts: 3, open: 2\)"):
        CandleBatch(**values)
    values = _values(OHLC_COLUMNS, 3)
    values["instrument_key"] = values["instrument_key"][:1]
    with pytest.raises(ValueError, match="different lengths"):
        CandleBatch(**values)


def test_features_of_another_length_than_the_ticks_are_refused() -> None:
    features = TickFeatures(**_values(FEATURE_COLUMNS, 2))
    with pytest.raises(ValueError, match="3 rows but 2 rows of features"):
        TickBatch(**_values(RAW_TICK_COLUMNS, 3), features=features)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("open", np.arange(3, dtype=np.int32), "expected a 1-d int64 array, got a 1-d int32"),
        ("open", np.arange(3.0), "got a 1-d float64 array"),
        ("open", [1, 2, 3], "got list"),
        ("open", np.zeros((3, 1), dtype=np.int64), "got a 2-d int64 array"),
        ("instrument_key", "NSE", "expected a sequence of str"),
        ("instrument_key", np.array(["a", "b", "c"]), "expected a sequence of str"),
    ],
)
def test_columns_of_the_wrong_kind_are_refused(column: str, values: Any, message: str) -> None:
    batch = _values(OHLC_COLUMNS, 3)
    batch[column] = values
    with pytest.raises(TypeError, match=message):
        CandleBatch(**batch)


def test_a_float_column_must_be_float64() -> None:
    features = _values(FEATURE_COLUMNS, 2)
    features["session_vwap"] = np.arange(2, dtype=np.int64)
    with pytest.raises(TypeError, match="session_vwap: expected a 1-d float64 array"):
        TickFeatures(**features)


def test_take_keeps_the_selected_rows_in_order_with_their_features() -> None:
    batch = ticks(5)
    got = batch.take(np.array([True, False, True, True, False]))
    assert got.ts.tolist() == [0, 2, 3]
    assert list(got.instrument_key) == ["NSE_EQ|K0", "NSE_EQ|K2", "NSE_EQ|K3"]
    assert got.features is not None and got.features.vega.tolist() == [0.0, 2.0, 3.0]


def test_concat_joins_batches_in_order() -> None:
    got = concat([ticks(2), ticks(3, start=10)])
    assert got.ts.tolist() == [0, 1, 10, 11, 12]
    assert list(got.instrument_key)[2] == "NSE_EQ|K10"
    assert got.features is not None and got.features.ts_enriched.tolist() == [0, 1, 10, 11, 12]
    one = ticks(1)
    assert concat([one]) is one


def test_concat_refuses_batches_of_other_columns() -> None:
    with pytest.raises(ValueError, match="differ in table or columns"):
        concat([ticks(2), ticks(2, features=False)])
    with pytest.raises(ValueError, match="at least one"):
        concat([])
