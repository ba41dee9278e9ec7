"""Segmented primitives against per-segment Python loops, given starts or ``Segments``."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.analytics.segments import (
    Segments,
    seg_cumsum,
    seg_last_where,
    seg_previous,
    seg_running_max,
)

VALUES = st.lists(st.tuples(st.integers(-50, 50), st.booleans(), st.booleans()), min_size=1)


def _split(rows: list[tuple[int, bool, bool]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.array([v for v, _, _ in rows], dtype=np.int64)
    starts = np.array([s for _, s, _ in rows], dtype=np.bool_)
    starts[0] = True
    mask = np.array([m for _, _, m in rows], dtype=np.bool_)
    return values, starts, mask


def _segments_of(starts: np.ndarray) -> list[range]:
    first = [*np.flatnonzero(starts).tolist(), starts.size]
    return [range(a, b) for a, b in pairwise(first)]


@settings(max_examples=200, deadline=None)
@given(VALUES, st.integers(-100, 100))
def test_primitives_match_loops_and_take_starts_or_segments(
    rows: list[tuple[int, bool, bool]], carry_base: int
) -> None:
    values, starts, mask = _split(rows)
    segs = _segments_of(starts)
    carry = np.arange(len(segs), dtype=np.int64) + carry_base
    cumsum, last, previous, running = (np.zeros_like(values) for _ in range(4))
    for k, seg in enumerate(segs):
        total, seen, top = int(carry[k]), int(carry[k]), int(carry[k])
        for i in seg:
            previous[i] = values[i - 1] if i > seg.start else carry[k]
            total += int(values[i])
            cumsum[i] = total
            seen = int(values[i]) if mask[i] else seen
            last[i] = seen
            top = max(top, int(values[i]))
            running[i] = top
    for given_starts in (starts, Segments.of(starts)):
        assert seg_cumsum(values, given_starts, carry).tolist() == cumsum.tolist()
        assert seg_last_where(values, mask, given_starts, carry).tolist() == last.tolist()
        assert seg_previous(values, given_starts, carry).tolist() == previous.tolist()
        assert seg_running_max(values, given_starts, carry).tolist() == running.tolist()


def test_segments_of_marks_first_elements_and_ids() -> None:
    segs = Segments.of(np.array([True, False, True, True, False, False]))
    assert segs.first.tolist() == [0, 2, 3]
    assert segs.ids.tolist() == [0, 0, 1, 2, 2, 2]
