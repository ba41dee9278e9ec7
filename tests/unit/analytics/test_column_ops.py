"""``take`` / ``concat`` on ``TickColumns`` agree with the same operations on tick lists."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.analytics.column_ops import concat, empty_columns, take
from quant.analytics.columns import TickColumns, from_ticks
from quant.core.events import DepthLevel, FeedMode, Tick

T0 = 1_796_183_100_000_000_000


def _tick(i: int, levels: int, mode: FeedMode) -> Tick:
    depth = tuple(DepthLevel(100 - j, 10 + j, 101 + j, 20 + j) for j in range(levels))
    return Tick(f"NSE_EQ|K{i % 4}", mode, T0 + i, T0, 100 + i, ltq=i % 3, volume=i,
                close_price=7 * i, atp=3 * i, total_buy_quantity=i, depth=depth)  # fmt: skip


ticks = st.lists(
    st.builds(_tick, st.integers(0, 1000), st.integers(0, 6), st.sampled_from(list(FeedMode))),
    max_size=12,
)


def _same(a: TickColumns, b: TickColumns) -> None:
    assert a.keys == b.keys
    for name in TickColumns._fields[1:]:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.shape == y.shape, name
            assert np.array_equal(x, y), name


@settings(max_examples=60, deadline=None)
@given(ticks, ticks)
def test_concat_is_from_ticks_of_the_joined_lists(a: list[Tick], b: list[Tick]) -> None:
    _same(concat(from_ticks(a), from_ticks(b)), from_ticks(a + b))


@settings(max_examples=60, deadline=None)
@given(ticks, st.data())
def test_take_is_from_ticks_of_the_chosen_rows(a: list[Tick], data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.integers(0, max(len(a) - 1, 0)), max_size=len(a)))
    if not a:
        rows = []
    got = take(from_ticks(a), np.array(rows, dtype=np.int64))
    want = from_ticks([a[i] for i in rows])
    assert got.keys == want.keys
    for name in ("ts_event", "ltp", "volume", "mode", "close_price", "has_volume"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    mask = np.zeros(len(a), dtype=np.bool_)
    mask[rows] = True
    assert take(from_ticks(a), mask).keys == [t.instrument_key for i, t in enumerate(a) if mask[i]]


def test_empty_batches_join_to_the_other_side() -> None:
    one = from_ticks([_tick(1, 2, FeedMode.FULL)])
    assert concat(empty_columns(), one) is one
    assert concat(one, empty_columns()) is one
