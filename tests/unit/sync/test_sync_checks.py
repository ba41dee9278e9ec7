"""The instrument sync's sanity rules as pure logic: row counts, bad rows, the deadline,
and the row screen they are fed by."""

from __future__ import annotations

import pytest

from quant.core.clock import FakeClock
from quant.core.instrument_checks import (
    KEY_CONFLICT,
    LOT_SIZE,
    MISSING_KEY,
    SYMBOL_TWICE,
    TICK_SIZE,
    screen_instruments,
    segment_counts,
)
from quant.core.instruments import Instrument, InstrumentType
from quant.sync.checks import (
    BAD_ROWS,
    DEADLINE,
    ROW_COUNT,
    Deadline,
    SegmentCount,
    SyncLimits,
    SyncRefused,
    check_bad_rows,
    check_row_counts,
    compare_segments,
)


def _eq(n: int, segment: str = "NSE_EQ", **kw: object) -> Instrument:
    fields: dict[str, object] = {
        "instrument_key": f"{segment}|K{n}",
        "trading_symbol": f"S{n}",
        "name": f"N{n}",
        "exchange": segment[:3],
        "segment": segment,
        "instrument_type": InstrumentType.EQUITY,
        **kw,
    }
    return Instrument(**fields)  # type: ignore[arg-type]


def test_a_segment_below_the_fraction_of_yesterday_is_refused_with_the_numbers() -> None:
    counts = compare_segments(
        {"NSE_EQ": 1203, "NSE_FO": 50_000}, {"NSE_EQ": 2410, "NSE_FO": 50_100}, {"NSE_EQ"}
    )
    with pytest.raises(SyncRefused) as refused:
        check_row_counts(counts, SyncLimits())
    assert refused.value.rule == ROW_COUNT
    assert str(refused.value) == (
        "refused by the row-count rule: NSE_EQ: 1,203 rows, yesterday 2,410 (50%) < 90%; "
        "use --force to accept"
    )
    assert check_row_counts(counts, SyncLimits(force=True)) == [SegmentCount("NSE_EQ", 1203, 2410)]


def test_row_count_boundaries_new_segments_and_segments_of_other_files() -> None:
    limits = SyncLimits(min_segment_fraction=0.9)
    at_limit = compare_segments({"NSE_EQ": 900}, {"NSE_EQ": 1000}, {"NSE_EQ"})
    assert check_row_counts(at_limit, limits) == []
    just_under = compare_segments({"NSE_EQ": 899}, {"NSE_EQ": 1000}, {"NSE_EQ"})
    with pytest.raises(SyncRefused, match=r"899 rows, yesterday 1,000 \(90%\) < 90%"):
        check_row_counts(just_under, limits)
    new = compare_segments({"BSE_EQ": 5}, {}, {"BSE_EQ"})
    assert check_row_counts(new, limits) == []
    assert new[0].line() == "BSE_EQ: 5 rows, yesterday none (new)"
    # a covered segment missing from today's files altogether is 0% of yesterday
    gone = compare_segments({"NSE_EQ": 10}, {"NSE_EQ": 10, "NSE_FO": 400}, {"NSE_EQ", "NSE_FO"})
    with pytest.raises(SyncRefused, match="NSE_FO: 0 rows, yesterday 400 \\(0%\\)"):
        check_row_counts(gone, limits)
    # BSE rows are not compared when only the NSE file was downloaded
    nse_only = compare_segments({"NSE_EQ": 10}, {"NSE_EQ": 10, "BSE_EQ": 400}, {"NSE_EQ"})
    assert [c.segment for c in nse_only] == ["NSE_EQ"]
    assert check_row_counts(nse_only, limits) == []


def test_several_shrunk_segments_are_named_on_one_line() -> None:
    counts = compare_segments(
        {"NSE_EQ": 1, "NSE_FO": 2}, {"NSE_EQ": 10, "NSE_FO": 20}, {"NSE_EQ", "NSE_FO"}
    )
    with pytest.raises(SyncRefused) as refused:
        check_row_counts(counts, SyncLimits())
    text = str(refused.value)
    assert "\n" not in text
    assert "NSE_EQ: 1 rows, yesterday 10 (10%) < 90%; NSE_FO: 2 rows, yesterday 20" in text


def test_a_few_bad_rows_are_dropped_and_many_refuse_the_file() -> None:
    limits = SyncLimits(max_bad_row_fraction=0.01)
    few = {("NSE_FO", LOT_SIZE): 5, ("NSE_EQ", TICK_SIZE): 5}
    assert check_bad_rows(990, few, {}, limits) == 10  # 10 of 1,000: 1.0%, allowed
    many = {("NSE_FO", LOT_SIZE): 9, ("NSE_EQ", TICK_SIZE): 2}
    with pytest.raises(SyncRefused) as refused:
        check_bad_rows(989, many, {LOT_SIZE: "NSE_FO|7"}, limits)
    assert refused.value.rule == BAD_ROWS
    assert str(refused.value) == (
        "refused by the bad-rows rule: 11 of 1,000 rows (1.1%) are impossible, more than "
        "1.0%: 9 non-positive lot size (e.g. NSE_FO|7), 2 non-positive tick size; fewer are "
        "dropped and counted; use --force to accept the good rows"
    )
    assert check_bad_rows(989, many, {}, SyncLimits(force=True)) == 11
    assert check_bad_rows(0, {}, {}, limits) == 0


def test_the_deadline_on_the_injected_clock() -> None:
    clock = FakeClock(1_000)
    deadline = Deadline(clock, 2.5)
    assert deadline.remaining_s() == 2.5
    deadline.check("the download")
    clock.advance(2.5)
    assert deadline.passed and deadline.remaining_s() == 0.0
    with pytest.raises(SyncRefused) as refused:
        deadline.check("the download")
    assert refused.value.rule == DEADLINE
    assert str(refused.value) == (
        "refused by the deadline rule: the sync took longer than 2.5 s (deadline_s), "
        "during the download"
    )


def test_the_screen_drops_impossible_rows_and_keeps_the_rest_in_order() -> None:
    rows = [
        _eq(1),
        _eq(2, lot_size=0),
        _eq(3, tick_size_paise=-5),
        _eq(4, trading_symbol=""),
        _eq(5),
        _eq(5),  # an exact copy: kept once, not bad
        _eq(6),
        _eq(6, name="other"),  # the same key, different values: both go
        _eq(7, trading_symbol="dup"),
        _eq(8, trading_symbol="DUP"),  # a symbol twice in NSE_EQ (case-insensitive)
        _eq(9, segment="BSE_EQ", trading_symbol="DUP"),  # another segment: fine
        Instrument("NSE_INDEX|X", "X", "X", "NSE", "NSE_INDEX", InstrumentType.INDEX,
                   lot_size=0, tick_size_paise=0),  # an index is not traded
    ]  # fmt: skip
    out = screen_instruments(rows)
    assert [i.instrument_key for i in out.kept] == [
        "NSE_EQ|K1", "NSE_EQ|K5", "BSE_EQ|K9", "NSE_INDEX|X",
    ]  # fmt: skip
    assert out.dropped == {
        ("NSE_EQ", LOT_SIZE): 1,
        ("NSE_EQ", TICK_SIZE): 1,
        ("NSE_EQ", MISSING_KEY): 1,
        ("NSE_EQ", KEY_CONFLICT): 2,
        ("NSE_EQ", SYMBOL_TWICE): 2,
    }
    assert out.exact_copies == 1
    assert out.examples[SYMBOL_TWICE] == "NSE_EQ dup"
    assert segment_counts(out.kept) == {"NSE_EQ": 2, "BSE_EQ": 1, "NSE_INDEX": 1}
