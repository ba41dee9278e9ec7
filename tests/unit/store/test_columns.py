"""``quant.store.columns.checked_columns``: what a ``write_columns`` batch must hold."""

from __future__ import annotations

from typing import Any

import pytest

from quant.store.columns import FEATURE_COLUMNS, RAW_TICK_COLUMNS, TICK_COLUMNS, checked_columns


def _batch(names: tuple[str, ...], n: int = 2) -> dict[str, Any]:
    return {c: ["NSE_EQ|K"] * n if c == "instrument_key" else list(range(n)) for c in names}


def test_ticks_with_every_feature_column_keep_the_table_order() -> None:
    batch = _batch(tuple(reversed(TICK_COLUMNS)))
    got = checked_columns("ticks", batch)
    assert got is not None and tuple(got) == TICK_COLUMNS


def test_ticks_may_leave_out_all_feature_columns() -> None:
    got = checked_columns("ticks", _batch(RAW_TICK_COLUMNS))
    assert got is not None and tuple(got) == RAW_TICK_COLUMNS


def test_ticks_with_only_some_feature_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        checked_columns("ticks", _batch(RAW_TICK_COLUMNS + FEATURE_COLUMNS[:3]))


def test_a_column_the_table_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown columns \['session_vwp'\]"):
        checked_columns("ticks", {**_batch(TICK_COLUMNS), "session_vwp": [1.0, 2.0]})


def test_columns_of_different_lengths_are_refused_and_empty_batches_are_none() -> None:
    batch = _batch(RAW_TICK_COLUMNS)
    batch["ltp"] = [1]
    with pytest.raises(ValueError, match="different lengths"):
        checked_columns("ticks", batch)
    assert checked_columns("ticks", _batch(RAW_TICK_COLUMNS, 0)) is None
