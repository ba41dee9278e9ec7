"""The scanner's composite score, top N, reasons and liquidity filter."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from quant.analytics.scanner_score import (
    ScoreWeights,
    composite_score,
    liquid,
    normalised,
    reasons,
    robust_z,
    top_n,
)
from quant.analytics.scanner_signals import SIGNAL_NAMES, SignalParams

nan = np.nan
ONLY = {name: 0.0 for name in SIGNAL_NAMES}


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def signals(n: int, **given_: np.ndarray) -> dict[str, np.ndarray]:
    out = {name: np.full(n, nan) for name in SIGNAL_NAMES}
    out.update(given_)
    return out


def test_robust_z_median_mad_clipped() -> None:
    # median 3; |x - 3| = 2, 1, 0, 1, 97 -> MAD 1 -> sigma 1.4826; 100 clipped to 3; NaN stays
    got = robust_z(a(1, 2, 3, 4, 100, nan))
    s = 1.4826
    assert_allclose(got, a(-2 / s, -1 / s, 0, 1 / s, 3, nan), equal_nan=True)


def test_robust_z_falls_back_when_the_mad_is_zero() -> None:
    # most names inside their opening range: median 0, |x| = 0, 0, 0, 0, 0.5, 0.5 -> MAD 0;
    # mean |x| = 1 / 6 -> sigma 1.2533 / 6 = 0.20888: z = +-0.5 / 0.20888 = +-2.3937
    got = robust_z(a(0, 0, 0, 0, 0.5, -0.5))
    assert_allclose(got, a(0, 0, 0, 0, 3 / 1.2533, -3 / 1.2533))
    # one breakout among four: 0.5 / (1.2533 * 0.1) = 3.99 -> clipped to 3
    assert_allclose(robust_z(a(0, 0, 0, 0, 0.5)), a(0, 0, 0, 0, 3))
    assert_array_equal(robust_z(a(2, 2, nan)), a(0, 0, nan))
    assert np.isnan(robust_z(a(nan, nan))).all()
    # an infinite value is unknown, not an outlier that moves the median
    assert_array_equal(robust_z(a(1, 1, np.inf, -np.inf)), a(0, 0, nan, nan))


def test_composite_is_the_weighted_mean_of_z() -> None:
    w = ScoreWeights(**{**ONLY, "orb": 2.0, "rel_volume": 1.0})
    s = signals(3, orb=a(1, 2, 3), rel_volume=a(3, 2, 1))
    # z(orb) = (-1, 0, 1) / 1.4826 and z(rel_volume) = (1, 0, -1) / 1.4826 (median 2, MAD 1)
    # name 0: (2 * -1 + 1 * 1) / 1.4826 / (2 + 1) = -0.22483
    k = 1 / (3 * 1.4826)
    assert_allclose(composite_score(s, w), a(-k, 0, k))


def test_contraction_scores_lower_as_better() -> None:
    w = ScoreWeights(**{**ONLY, "contraction": 1.0})
    score = composite_score(signals(3, contraction=a(0.3, 0.6, 0.9)), w)
    assert score[0] > score[1] > score[2]


def test_unknown_signals_drop_out_with_their_weight() -> None:
    w = ScoreWeights(**{**ONLY, "orb": 2.0, "rel_volume": 1.0})
    s = signals(4, orb=a(1, 2, 3, 2), rel_volume=a(3, 2, 1, nan))
    # orb: median 2, |dev| = 1, 0, 1, 0 -> MAD 0.5 -> sigma 0.7413: z = -1.349, 0, 1.349, 0
    # rel_volume over the 3 known: z = 0.6745, 0, -0.6745, NaN
    # name 0: (2 * -1.349 + 0.6745) / 3 = -0.6745; name 3: only orb known, weight 2 of 3
    # (>= half of the total): 2 * 0 / 2 = 0
    z1, z2 = 1 / 0.7413, 1 / 1.4826
    assert_allclose(
        composite_score(s, w), a((-2 * z1 + z2) / 3, 0, (2 * z1 - z2) / 3, 0), rtol=1e-4
    )
    # with rel_volume weighted 2 and orb 1, name 3's known weight is 1 of 3: NaN
    w2 = ScoreWeights(**{**ONLY, "orb": 1.0, "rel_volume": 2.0})
    assert np.isnan(composite_score(s, w2)[3])
    assert np.isnan(composite_score(signals(2), ScoreWeights())).all()


def test_score_input_errors() -> None:
    with pytest.raises(ValueError, match=r"signals missing \['gap'\]"):
        composite_score({k: a(1) for k in SIGNAL_NAMES if k != "gap"}, ScoreWeights())
    with pytest.raises(ValueError, match="one length"):
        composite_score({**signals(2), "gap": a(1, 2, 3)}, ScoreWeights())
    with pytest.raises(ValueError, match="all 0"):
        composite_score(signals(2), ScoreWeights(**ONLY))
    with pytest.raises(ValueError, match="finite"):
        ScoreWeights(orb=nan)


def test_top_n_best_first_nan_never_ties_by_index() -> None:
    score = a(1.0, nan, 3.0, 3.0, 2.0, nan)
    assert top_n(score, 3).tolist() == [2, 3, 4]
    assert top_n(score, 10).tolist() == [2, 3, 4, 0]
    assert top_n(score, 0).tolist() == []
    assert top_n(np.full(3, nan), 2).tolist() == []
    assert top_n(score, 2).dtype == np.int64
    with pytest.raises(ValueError, match="n >= 0"):
        top_n(score, -1)


def test_reasons_notable_ones_most_important_first() -> None:
    s = signals(
        2,
        orb=a(0.6, 0.0),
        high_dist=a(-0.4, -8.0),
        rel_volume=a(3.1, 1.0),
        rel_strength=a(1.8, -1.0),
        gap=a(2.1, -1.0),
        vwap_dist=a(0.2, -1.0),  # below 0.3 %: not notable
        roc=a(0.1, nan),  # below 0.3 %: not notable
        contraction=a(0.45, 0.9),
    )
    z = {name: a(1.0, 0.0) for name in SIGNAL_NAMES}
    z.update(high_dist=a(2.0, 0), rel_volume=a(3.0, 0), rel_strength=a(2.5, 0), gap=a(2.0, 0))
    # weight * z: rel_volume 3, rel_strength 2.5, high_dist 2, orb 1, gap 0.5 * 2 = 1 (ties
    # with orb, which comes first in SIGNAL_NAMES), contraction 0.5 * 1
    assert reasons(s, 0, minute_label="10:25", z=z, limit=10) == (
        "relative volume 3.1x for 10:25",
        "+1.8% vs NIFTY",
        "0.4% below the 20-day high",
        "broke the 15-min opening range by 0.6%",
        "gap up 2.1%",
        "range contracted to 0.45 of its 20-day width",
    )
    assert reasons(s, 0, minute_label="10:25", z=z) == (  # at most 4 by default
        "relative volume 3.1x for 10:25",
        "+1.8% vs NIFTY",
        "0.4% below the 20-day high",
        "broke the 15-min opening range by 0.6%",
    )
    assert reasons(s, 1, minute_label="10:25", z=z) == ()
    # without z, it is computed: same phrases
    got = reasons(s, 0, minute_label="10:25", limit=10)
    assert set(got) == set(reasons(s, 0, minute_label="10:25", z=z, limit=10))


def test_reasons_other_phrasings() -> None:
    s = signals(
        3,
        high_dist=a(0.3, -0.02, 2.0),
        vwap_dist=a(1.2, nan, nan),
        roc=a(0.8, nan, nan),
        contraction=a(nan, nan, 0.3),
    )
    p = SignalParams(high_days=50, roc_minutes=10, contraction_long=30)
    got = reasons(s, 0, minute_label="09:45", or_minutes=30, params=p)
    assert set(got) == {
        "new 50-day high, 0.3% above the previous",
        "1.2% above VWAP",
        "+0.8% in 10 min",
    }
    assert reasons(s, 1, minute_label="09:45", params=p) == ("at the 50-day high",)
    assert "range contracted to 0.30 of its 30-day width" in reasons(
        s, 2, minute_label="09:45", params=p
    )
    s2 = signals(1, orb=a(1.26))
    assert reasons(s2, 0, minute_label="09:50", or_minutes=30) == (
        "broke the 30-min opening range by 1.3%",
    )


def test_liquid_price_and_median_turnover() -> None:
    close = np.full((6, 3), 100.0)
    close[4] = nan
    close[5, 0] = nan
    volume = np.array(
        [
            [20000, 5000, 12000],  # turnover 2e6, 5e5, 1.2e6 -> median 1.2e6: liquid
            [20000, 20000, 20000],  # price 5 below 10
            [5000, 5000, 20000],  # 5e5, 5e5, 2e6 -> median 5e5: too thin
            [20000, 20000, 20000],  # price unknown
            [20000, 20000, 20000],  # no close known
            [nan, 20000, 8000],  # 2e6 and 8e5 known -> median 1.4e6: liquid
        ],
        dtype=np.float64,
    )
    got = liquid(a(100, 5, 100, nan, 100, 100), close, volume, min_price=10, min_turnover=1e6)
    assert got.tolist() == [True, False, False, False, False, True]
    with pytest.raises(ValueError, match="min_price >= 0"):
        liquid(a(1), close[:1], volume[:1], min_price=-1, min_turnover=0)


_value = st.one_of(st.just(nan), st.floats(-50, 50, allow_nan=False, allow_infinity=False))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(_value, min_size=n, max_size=n), min_size=8, max_size=8),
            st.permutations(range(n)),
        )
    )
)
def test_score_is_invariant_to_the_order_of_names(
    case: tuple[list[list[float]], list[int]],
) -> None:
    columns, perm = case
    s = {name: np.array(col) for name, col in zip(SIGNAL_NAMES, columns, strict=True)}
    p = np.array(perm)
    shuffled = {name: v[p] for name, v in s.items()}
    w = ScoreWeights()
    assert_allclose(
        composite_score(shuffled, w),
        composite_score(s, w)[p],
        rtol=1e-12,
        atol=1e-12,
        equal_nan=True,
    )
    z, zp = normalised(s), normalised(shuffled)
    for name in SIGNAL_NAMES:
        assert_allclose(zp[name], z[name][p], rtol=1e-12, atol=1e-12, equal_nan=True)
