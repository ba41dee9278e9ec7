"""The rolling-window history's levels: the per-level search key against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from quant.analytics.rolling import History, Level, _search_level


def _level(rows: list[tuple[int, int]]) -> Level:
    rows = sorted(rows)
    code = np.array([c for c, _ in rows], dtype=np.int64)
    ts = np.array([t for _, t in rows], dtype=np.int64)
    z = np.zeros(len(rows), dtype=np.int64)
    return Level.of(History(code, ts, z, z, z))


def _brute(level: Level, c: int, t: int) -> int | None:
    rows = zip(level.rows.code.tolist(), level.rows.ts.tolist(), strict=True)
    for i, (code, ts) in enumerate(rows):
        if code == c and ts > t:
            return i
    return None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 50)), min_size=1, max_size=40),
    st.lists(st.tuples(st.integers(0, 12), st.integers(-80, 90)), min_size=1, max_size=20),
    st.sampled_from([1, 10**9, 10**17]),  # time scale: ns, seconds, ~3 years per step
)
# a query ~290 years before the level: its offset from the level's start overflowed int64
@example(rows=[(0, 48)], queries=[(0, -45)], scale=10**17)
def test_search_matches_brute_force(
    rows: list[tuple[int, int]], queries: list[tuple[int, int]], scale: int
) -> None:
    # the largest scale may span more than an int64 key allows: the per-code search path
    level = _level([(c, t * scale) for c, t in rows])
    c = np.array([q for q, _ in queries], dtype=np.int64)
    t = np.array([q * scale for _, q in queries], dtype=np.int64)
    index, hit = _search_level(level, c, t)
    for i, (qc, qt) in enumerate(zip(c.tolist(), t.tolist(), strict=True)):
        expected = _brute(level, qc, qt)
        assert bool(hit[i]) == (expected is not None)
        if expected is not None:
            assert int(index[i]) == expected


def test_wide_levels_fall_back_to_the_per_code_search() -> None:
    assert _level([(0, 0), (1, 10**9)]).key is not None
    assert _level([(0, 0), (6, 9 * 10**17)]).key is None


def test_empty_level_has_no_key() -> None:
    level = Level.of(History.empty())
    assert level.size == 0 and level.key is None
