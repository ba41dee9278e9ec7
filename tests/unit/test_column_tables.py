"""One source for a tick's fields: ``scripts/gen_columns.py`` finds no drift between the
events, the proto, the generated store tables, the engine's columns and the native code,
and finds it as soon as any one of them changes a field's order."""

from __future__ import annotations

import importlib.util
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

from quant.analytics.columns import EnrichedColumns, TickColumns

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_columns", ROOT / "scripts" / "gen_columns.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_columns"] = module
    spec.loader.exec_module(module)
    return module


def _reordered(cls: Any, a: str, b: str, extra: tuple[str, type] | None = None) -> Any:
    """A NamedTuple like ``cls`` (same name and types) with fields ``a`` and ``b`` swapped."""
    hints = typing.get_type_hints(cls)
    names = list(cls._fields)
    i, j = names.index(a), names.index(b)
    names[i], names[j] = names[j], names[i]
    fields = [(n, hints[n]) for n in names] + ([extra] if extra else [])
    return NamedTuple(cls.__name__, fields)  # type: ignore[misc]


def test_events_proto_tables_engine_columns_and_native_code_agree(gen: ModuleType) -> None:
    assert gen.drift() == []


def test_reordering_two_tick_fields_is_drift_everywhere_it_matters(gen: ModuleType) -> None:
    events = gen.load_events()
    events["Tick"] = _reordered(events["Tick"], "ltt_ns", "ltq")
    problems = gen.drift(events=events)
    assert any(p.startswith("Tick: fields") and "marketdata.proto" in p for p in problems)
    assert "stale: services/quant/store/tables.py (run `make columns`)" in problems
    # the bus reader goes by field number; what builds or encodes tuples by position must
    # change with them
    for source in ("lib.rs", "encode.rs"):
        assert any(source in p for p in problems), source
    assert not any("marketdata.rs" in p for p in problems)


def test_a_new_tick_field_needs_the_proto_the_tables_and_the_native_code(
    gen: ModuleType,
) -> None:
    events = gen.load_events()
    tick = events["Tick"]
    hints = typing.get_type_hints(tick)
    events["Tick"] = NamedTuple(  # type: ignore[misc]
        "Tick", [*((n, hints[n]) for n in tick._fields), ("iep", int)]
    )
    problems = gen.drift(events=events)
    assert any("marketdata.proto's Tick has" in p for p in problems)
    assert any(p.startswith("stale:") for p in problems)
    assert "    iep: IntColumn" in gen.generate(events)
    assert any("lib.rs" in p and "16 fields" in p for p in problems)


def test_a_stale_generated_file_is_drift(gen: ModuleType) -> None:
    text = gen.TABLES_PY.read_text()
    swapped = text.replace('    "ltt",\n    "ltq",\n', '    "ltq",\n    "ltt",\n', 1)
    assert swapped != text
    assert gen.drift(committed=swapped) == [
        "stale: services/quant/store/tables.py (run `make columns`)"
    ]


@pytest.mark.parametrize(
    ("source", "old", "new"),
    [
        ("encode.rs", "const TICK_FIELDS: usize = 15;", "const TICK_FIELDS: usize = 14;"),
        ("marketdata.rs", "(3..=13, VARINT)", "(3..=12, VARINT)"),
        ("lib.rs", "int_i64(py, s[0])?,\n", "int_i64(py, s[1])?,\n"),
        ("lib.rs", "int_i64(py, lt.ltq)?", "int_i64(py, lt.oi)?"),
        ("lib.rs", "float(py, g.delta)?", "float(py, g.gamma)?"),
        ("encode.rs", "0x18, 0x20,", "0x20, 0x18,"),
        ("columns.rs", "const INT_ROWS: usize = 12;", "const INT_ROWS: usize = 11;"),
        ("columns.rs", "&[0x31],\n    &[0x39],", "&[0x39],\n    &[0x31],"),
        ("columns.rs", "&[0x10],\n    &[0x18],", "&[0x18],\n    &[0x10],"),
    ],
)
def test_a_native_field_order_that_disagrees_is_drift(
    gen: ModuleType, source: str, old: str, new: str
) -> None:
    native = gen.load_native()
    assert native[source].count(old) >= 1, f"the mutation {old!r} no longer applies"
    native[source] = native[source].replace(old, new, 1)
    problems = gen.drift(native=native)
    assert problems and all(f"native/quant_wire/src/{source}" in p for p in problems), problems


def test_native_code_the_check_cannot_read_is_reported_not_passed(gen: ModuleType) -> None:
    native = gen.load_native()
    native["encode.rs"] = native["encode.rs"].replace("const INT_TAGS", "const TAGS")
    (problem,) = gen.drift(native=native)
    assert "encode.rs" in problem and "cannot find INT_TAGS" in problem


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: (_reordered(TickColumns, "ltq", "oi"), EnrichedColumns), []),
        (
            lambda: (TickColumns, _reordered(EnrichedColumns, "spread", "microprice")),
            ["EnrichedColumns: fields"],
        ),
        (
            lambda: (NamedTuple("TickColumns", [("keys", list)]), EnrichedColumns),  # type: ignore[misc]
            ["no column for Tick.mode", "no column for Tick.ask_quantity"],
        ),
    ],
)
def test_engine_columns_must_cover_the_events(
    gen: ModuleType, make: Callable[[], tuple[Any, Any]], expected: list[str]
) -> None:
    tick_columns, enriched = make()
    problems = gen.analytics_problems(gen.load_events(), tick_columns, enriched)
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
    if not expected:  # TickColumns' own order is free: fields are found by name
        assert problems == []


def test_an_event_whose_types_disagree_with_the_proto_is_drift(gen: ModuleType) -> None:
    events = gen.load_events()
    candle = events["Candle"]
    hints = typing.get_type_hints(candle)
    hints["volume"] = float
    events["Candle"] = NamedTuple("Candle", [(n, hints[n]) for n in candle._fields])  # type: ignore[misc]
    problems = gen.schema_problems(gen.load_messages(), events)
    assert problems == ["Candle.volume: an integer in the proto but <class 'float'> here"]
