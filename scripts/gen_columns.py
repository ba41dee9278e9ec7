"""Generate the tick store's column tables from the domain events, or check for drift.

Usage: python scripts/gen_columns.py [--check]

A tick's fields have one source: ``quant.core.events`` (``Tick``, ``EnrichedTick``,
``OptionGreeks``, ``Candle``, ``DepthLevel``, ``FeedOhlc``), which mirrors the bus messages
of ``proto/quant/pb/marketdata/v1/marketdata.proto`` field for field. This script

* checks each event against its message: the same fields in field-number order (``ltp``
  for ``ltp_paise``: the proto spells the unit; ``volume`` for ``volume_traded_today``),
  numbered 1..n, of matching types (enums member for member);
* writes ``services/quant/store/tables.py`` from the events: the tick-store tables'
  columns and their typed column batches (``TickBatch``, ``TickFeatures``, ``GreeksBatch``,
  ``CandleBatch``; see ``TABLE_SPECS``);
* checks the field orders fixed by hand elsewhere against the events and the proto: the
  feature engine's ``TickColumns`` / ``EnrichedColumns`` (``quant.analytics.columns``) and
  the native extension's tuple positions, field numbers and column rows
  (``native/quant_wire/src``, see ``native_problems``), so a field added to an event names
  every place still to change.

``--check`` writes nothing and fails on any drift; ``scripts/test.sh`` runs it and the
unit test ``tests/unit/test_column_tables.py`` calls :func:`drift`.
"""

from __future__ import annotations

import argparse
import re
import sys
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLES_PY = ROOT / "services" / "quant" / "store" / "tables.py"
NATIVE_SRC = ROOT / "native" / "quant_wire" / "src"
NATIVE_FILES = ("marketdata.rs", "lib.rs", "encode.rs", "columns.rs")
EVENTS = ("Tick", "DepthLevel", "FeedOhlc", "OptionGreeks", "EnrichedTick", "Candle")
# events with a table but no marketdata message (ScannerSuggestion's proto lives in
# trading.proto; its codec round-trip test guards that mapping)
TABLE_ONLY_EVENTS = ("ScannerSuggestion",)

# --- the proto and the events --------------------------------------------------------

_PROTO_RENAMES = {"volume_traded_today": "volume"}
_INT_TYPES = frozenset({3, 4, 5, 6, 7, 13, 15, 16, 17, 18})  # FieldDescriptor int types
_DOUBLE, _FLOAT, _STRING, _MESSAGE, _ENUM = 1, 2, 9, 11, 14


def event_name(proto_name: str) -> str:
    """The event field of a proto field: ``ltp_paise`` -> ``ltp``."""
    return _PROTO_RENAMES.get(proto_name, proto_name).removesuffix("_paise")


def load_events() -> dict[str, type]:
    from quant.core import events

    return {name: getattr(events, name) for name in (*EVENTS, *TABLE_ONLY_EVENTS)}


def load_messages() -> dict[str, Any]:
    from quant.pb.marketdata.v1 import marketdata_pb2

    return dict(marketdata_pb2.DESCRIPTOR.message_types_by_name)


def _fields(cls: type) -> tuple[str, ...]:
    names: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
    return names


def _type_problem(f: Any, hint: Any) -> str | None:
    if f.is_repeated:
        args = typing.get_args(hint)
        ok = typing.get_origin(hint) is tuple and args[1:] == (Ellipsis,)
        if f.type != _MESSAGE or not ok or args[0].__name__ != f.message_type.name:
            return f"repeated {f.message_type.name} in the proto but {hint} here"
        return None
    if f.type in (_DOUBLE, _FLOAT):
        return None if hint is float else f"a double in the proto but {hint} here"
    if f.type in _INT_TYPES:
        return None if hint is int else f"an integer in the proto but {hint} here"
    if f.type == _STRING:
        return None if hint is str else f"a string in the proto but {hint} here"
    if f.type == _ENUM:
        if not (isinstance(hint, type) and issubclass(hint, IntEnum)):
            return f"enum {f.enum_type.name} in the proto but {hint} here"
        values = [v for v in f.enum_type.values if v.number]
        prefix = f.enum_type.values[0].name.removesuffix("UNSPECIFIED")
        want = {v.number: v.name.removeprefix(prefix) for v in values}
        have = {int(m): m.name for m in hint}
        return None if want == have else f"enum {want} in the proto but {have} here"
    return f"proto type {f.type} has no event type"


def schema_problems(messages: Mapping[str, Any], events: Mapping[str, type]) -> list[str]:
    """Where an event and its proto message disagree (names, order, numbering, types)."""
    problems = []
    for name, cls in events.items():
        if name in TABLE_ONLY_EVENTS:
            continue
        message = messages.get(name)
        if message is None:
            problems.append(f"{name}: marketdata.proto has no message {name}")
            continue
        fields = sorted(message.fields, key=lambda f: f.number)
        want = [event_name(f.name) for f in fields]
        if list(_fields(cls)) != want:
            problems.append(
                f"{name}: fields {list(_fields(cls))} but marketdata.proto's {name} has {want} "
                "(field-number order)"
            )
            continue
        if [f.number for f in fields] != list(range(1, len(fields) + 1)):
            problems.append(
                f"{name}: proto field numbers must run 1..{len(fields)} (native code maps "
                "tuple position i to field i + 1)"
            )
        hints = typing.get_type_hints(cls)
        for f in fields:
            problem = _type_problem(f, hints[event_name(f.name)])
            if problem:
                problems.append(f"{name}.{event_name(f.name)}: {problem}")
    return problems


# --- the tick-store tables -------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """How one tick-store table's columns follow from an event (see ``columns``)."""

    table: str
    event: str
    batch: str
    doc: str
    constant: str  # the name of its columns tuple
    time: str  # the event field stored as ``ts``
    extra_keys: tuple[str, ...] = ()  # dedup keys besides (ts, instrument_key)
    renames: Mapping[str, str] = field(default_factory=dict)  # event field -> column
    skip: tuple[str, ...] = ()  # event fields with no column
    best_level: str | None = None  # a repeated field whose first element has columns
    json: tuple[str, ...] = ()  # tuple fields stored as one JSON text column each
    features: tuple[str, str, str] | None = None  # (event, group class, constant)


TABLE_SPECS = (
    TableSpec(
        "ticks", "Tick", "TickBatch", "``Tick`` rows, with their ``TickFeatures`` or not (NULL)",
        "RAW_TICK_COLUMNS", time="ts_event", renames={"ltt_ns": "ltt"}, skip=("ohlc",),
        best_level="depth", features=("EnrichedTick", "TickFeatures", "FEATURE_COLUMNS"),
    ),
    TableSpec(
        "option_greeks", "OptionGreeks", "GreeksBatch", "``OptionGreeks`` rows",
        "GREEKS_COLUMNS", time="ts_event",
    ),
    TableSpec(
        "ohlc", "Candle", "CandleBatch", "``Candle`` rows", "OHLC_COLUMNS", time="ts_start",
        extra_keys=("interval_seconds",),
    ),
    TableSpec(
        "scanner_suggestions", "ScannerSuggestion", "SuggestionBatch",
        "scanner picks, reasons and signals as JSON",
        "SUGGESTION_COLUMNS", time="ts_event", json=("reasons", "signals"),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Col:
    name: str
    source: str  # the event field (``depth[0].bid_price`` for the best level)
    kind: str  # "int", "float", "key" or "text"


def _kind(where: str, hint: Any) -> str:
    if hint is float:
        return "float"
    if hint is str:
        return "text"
    if hint is int or (isinstance(hint, type) and issubclass(hint, IntEnum)):
        return "int"
    raise ValueError(f"{where}: no column type for {hint}; give it one in scripts/gen_columns.py")


def columns(spec: TableSpec, events: Mapping[str, type]) -> list[Col]:
    """``ts`` and ``instrument_key``, then the event's other fields in order (renamed; the
    best level's fields in place of ``best_level``; none for ``skip``), ``ts_init`` last."""
    cls = events[spec.event]
    hints = typing.get_type_hints(cls)
    out = [Col("ts", spec.time, "int"), Col("instrument_key", "instrument_key", "key")]
    last = []
    for name in _fields(cls):
        if name in (spec.time, "instrument_key") or name in spec.skip:
            continue
        hint = hints[name]
        where = f"{spec.event}.{name}"
        if name == "ts_init":
            last.append(Col(name, name, _kind(where, hint)))
        elif name in spec.json:
            out.append(Col(spec.renames.get(name, name), name, "text"))
        elif typing.get_origin(hint) is tuple:
            if name != spec.best_level:
                raise ValueError(
                    f"{where}: a repeated field the {spec.table} table has no column for"
                )
            level = typing.get_args(hint)[0]
            level_hints = typing.get_type_hints(level)
            out += [
                Col(f, f"{name}[0].{f}", _kind(f"{level.__name__}.{f}", level_hints[f]))
                for f in _fields(level)
            ]
        else:
            out.append(Col(spec.renames.get(name, name), name, _kind(where, hint)))
    return out + last


def feature_columns(spec: TableSpec, events: Mapping[str, type]) -> list[Col]:
    """The optional group: the fields of the features event that the row event lacks."""
    assert spec.features is not None
    cls = events[spec.features[0]]
    hints = typing.get_type_hints(cls)
    have = set(_fields(events[spec.event]))
    return [
        Col(f, f, _kind(f"{cls.__name__}.{f}", hints[f])) for f in _fields(cls) if f not in have
    ]


_HEADER = '''\
"""Tick-store tables: their columns and typed column batches. GENERATED: do not edit.

Written by ``scripts/gen_columns.py`` from ``quant.core.events`` (which it checks against
``proto/quant/pb/marketdata/v1/marketdata.proto``): after changing an event, run
``make columns``; ``scripts/test.sh`` fails while this file is stale. A table's columns
are ``ts`` (the event time, UTC ns) and ``instrument_key``, then the event's other fields
in order (``ticks``: the best depth level in place of ``depth``, no ``ohlc``;
``scanner_suggestions``: ``reasons`` and ``signals`` as JSON text), ``ts_init`` last.
Read by both tick-store adapters, ``BatchingWriter`` and ``quant.store.columns``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from quant.store.batch import ColumnSet, FloatColumn, IntColumn, Keys, TextColumn
'''
_TYPES = {"int": "IntColumn", "float": "FloatColumn", "key": "Keys", "text": "TextColumn"}


def _tuple(name: str, items: Sequence[str]) -> list[str]:
    return ["", f"{name}: tuple[str, ...] = (", *(f'    "{i}",' for i in items), ")"]


def _dict(name: str, kind: str, items: Mapping[str, str]) -> list[str]:
    return ["", f"{name}: {kind} = {{", *(f'    "{k}": {v},' for k, v in items.items()), "}"]


def _class(
    name: str, doc: str, cols: Sequence[Col], constant: str, table: str | None, group: bool
) -> list[str]:
    lines = ["", "", "@dataclass(frozen=True, slots=True, eq=False)", f"class {name}(ColumnSet):"]
    lines += [f'    """{doc}."""', ""]
    if table is not None:
        lines.append(f'    TABLE: ClassVar[str] = "{table}"')
    lines.append(f"    COLUMNS: ClassVar[tuple[str, ...]] = {constant}")
    if any(c.kind == "float" for c in cols):
        lines.append(
            f"    FLOATS: ClassVar[frozenset[str]] = FLOAT_COLUMNS & frozenset({constant})"
        )
    if any(c.kind == "text" for c in cols):
        lines.append(f"    TEXTS: ClassVar[frozenset[str]] = TEXT_COLUMNS & frozenset({constant})")
    if group:
        lines.append('    GROUPS: ClassVar[tuple[str, ...]] = ("features",)')
    lines.append("")
    lines += [f"    {c.name}: {_TYPES[c.kind]}" for c in cols]
    return lines


def generate(events: Mapping[str, type]) -> str:
    """The text of ``services/quant/store/tables.py``."""
    lines = _HEADER.splitlines()
    tables: dict[str, list[Col]] = {}
    floats: set[str] = set()
    texts: set[str] = set()
    for spec in TABLE_SPECS:
        cols = columns(spec, events)
        lines += _tuple(spec.constant, [c.name for c in cols])
        all_cols = list(cols)
        if spec.features is not None:
            group = feature_columns(spec, events)
            lines += _tuple(spec.features[2], [c.name for c in group])
            lines += ["", f"TICK_COLUMNS = {spec.constant} + {spec.features[2]}"]
            all_cols += group
        tables[spec.table] = all_cols
        floats |= {c.name for c in all_cols if c.kind == "float"}
        texts |= {c.name for c in all_cols if c.kind == "text"}
    names = {s.table: "TICK_COLUMNS" if s.features else s.constant for s in TABLE_SPECS}
    lines += _dict("TABLES", "dict[str, tuple[str, ...]]", names)
    keys = {
        s.table: "(" + ", ".join(f'"{k}"' for k in ("ts", "instrument_key", *s.extra_keys)) + ")"
        for s in TABLE_SPECS
    }
    lines += _dict("DEDUP_KEYS", "dict[str, tuple[str, ...]]", keys)
    lines += ["", "FLOAT_COLUMNS: frozenset[str] = frozenset(", "    {"]
    lines += [f'        "{c}",' for c in sorted(floats)] + ["    }", ")"]
    lines += ["", "TEXT_COLUMNS: frozenset[str] = frozenset(", "    {"]
    lines += [f'        "{c}",' for c in sorted(texts)] + ["    }", ")"]
    lines += ['"""Text columns besides ``instrument_key`` (VARCHAR / TEXT)."""']
    sources = {}
    for spec in TABLE_SPECS:
        renamed = {c.name: c.source for c in tables[spec.table] if c.source != c.name}
        renamed = {k: v for k, v in renamed.items() if "[" not in v}  # best level: same names
        sources[spec.table] = "{" + ", ".join(f'"{k}": "{v}"' for k, v in renamed.items()) + "}"
    lines += ["", "# the event field a column holds, where the names differ"]
    lines += _dict("EVENT_FIELD", "dict[str, dict[str, str]]", sources)[1:]
    for spec in TABLE_SPECS:
        cols = columns(spec, events)
        if spec.features is not None:
            event, group, constant = spec.features
            doc = f"``{spec.table}``'s feature columns: ``{event}``'s fields ``{spec.event}`` lacks"
            lines += _class(group, doc, feature_columns(spec, events), constant, None, False)
        doc = f"A batch of ``{spec.table}``: {spec.doc}"
        grouped = spec.features is not None
        lines += _class(spec.batch, doc, cols, spec.constant, spec.table, grouped)
        if spec.features is not None:
            lines.append(f"    features: {spec.features[1]} | None = None")
    batches = " | ".join(s.batch for s in TABLE_SPECS)
    lines += [
        "",
        "",
        f"ColumnBatch: TypeAlias = {batches}",
        '"""A batch of any tick-store table."""',
    ]
    return "\n".join(lines) + "\n"


# --- hand-written layouts: the feature engine's columns ------------------------------

# TickColumns' name for a Tick field (or a depth level field) where it differs
TICK_COLUMNS_NAMES = {
    "instrument_key": "keys",
    "bid_quantity": "bid_qty",
    "ask_quantity": "ask_qty",
}


def analytics_problems(events: Mapping[str, type], tick_columns: type, enriched: type) -> list[str]:
    """Where ``TickColumns`` / ``EnrichedColumns`` no longer cover ``Tick`` / ``EnrichedTick``."""
    problems = []
    tick = events["Tick"]
    hints = typing.get_type_hints(tick)
    want = []
    for name in _fields(tick):
        if name == "ohlc":  # the engine does not use the feed's bars
            continue
        if typing.get_origin(hints[name]) is tuple:
            want += list(_fields(typing.get_args(hints[name])[0]))
        else:
            want.append(name)
    have = set(_fields(tick_columns))
    problems += [
        f"analytics.columns.TickColumns: no column for Tick.{name} "
        f"(expected {TICK_COLUMNS_NAMES.get(name, name)!r})"
        for name in want
        if TICK_COLUMNS_NAMES.get(name, name) not in have
    ]
    features = [
        f for f in _fields(events["EnrichedTick"]) if f not in _fields(tick) and f != "ts_enriched"
    ]
    if list(_fields(enriched)) != features:
        problems.append(
            f"analytics.columns.EnrichedColumns: fields {list(_fields(enriched))} but "
            f"EnrichedTick's per-tick features are {features}"
        )
    return problems


# --- hand-written layouts: the native extension ----------------------------------------

# the native code's names for event fields (locals and struct fields)
NATIVE_ALIASES = {
    "instrument_key": {"key"}, "close_price": {"cp"}, "total_buy_quantity": {"tbq"},
    "total_sell_quantity": {"tsq"}, "ltt_ns": {"ltt"}, "bid_price": {"bid_p"},
    "bid_quantity": {"bid_q"}, "ask_price": {"ask_p"}, "ask_quantity": {"ask_q"},
    "volume": {"vol", "vtt"}, "ts_ns": {"ts"},
}  # fmt: skip
# the tuple class a ``make(<class expression>, [...])`` call builds
NATIVE_CLASSES = {
    "tick": "Tick", "depth": "DepthLevel", "ohlc": "FeedOhlc", "greeks": "OptionGreeks",
}  # fmt: skip


def load_native() -> dict[str, str]:
    return {name: (NATIVE_SRC / name).read_text() for name in NATIVE_FILES}


class _Missing(Exception):
    pass


def _find(pattern: str, text: str, what: str) -> re.Match[str]:
    m = re.search(pattern, text, re.DOTALL)
    if m is None:
        raise _Missing(f"cannot find {what} (pattern {pattern!r}): update the check")
    return m


def _ints(text: str) -> list[int]:
    return [int(x, 0) for x in re.findall(r"0x[0-9a-fA-F]+|\d+", text)]


def _fn_body(src: str, name: str) -> str:
    """The text of ``fn name`` up to the next ``fn`` or attribute, at any indentation."""
    end = r"(?=\n[ \t]*(?:pub(?:\([^)]*\))? )?fn \w|\n[ \t]*#\[|\Z)"
    m = _find(rf"\bfn {name}\b(.*?){end}", src, f"fn {name}")
    return m.group(1)


def _split_items(text: str) -> list[str]:
    """The top-level comma-separated items of ``text`` (brackets nest)."""
    items, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        items.append("".join(cur).strip())
    return items


def _make_calls(body: str) -> Iterator[tuple[str, list[str]]]:
    """(class, items) of each ``make(<x>.<class>, [items])`` call in ``body``."""
    for m in re.finditer(r"\.make\(\s*\w+\.(\w+),\s*\[", body):
        depth, i = 1, m.end()
        while depth:
            depth += {"[": 1, "]": -1}.get(body[i], 0)
            i += 1
        yield m.group(1), _split_items(body[m.end() : i - 1])


def _varint_field(tag: list[int]) -> tuple[int, int]:
    value = sum((b & 0x7F) << (7 * k) for k, b in enumerate(tag))
    return value >> 3, value & 7


class _Layout:
    """What the proto and the events say the native code must assume."""

    def __init__(self, messages: Mapping[str, Any], events: Mapping[str, type]) -> None:
        self.events = events
        self.tick_fields = _fields(events["Tick"])
        fields = {event_name(f.name): f for f in messages["Tick"].fields}
        self.number = {name: f.number for name, f in fields.items()}
        self.by_number = {f.number: name for name, f in fields.items()}
        # the plain integer scalars of Tick (ts_event ..: neither the key, the mode (an enum)
        # nor repeated), contiguous fields the native code reads and writes by range
        self.scalars = [
            n
            for n in self.tick_fields
            if n in fields and fields[n].type in _INT_TYPES and not fields[n].is_repeated
        ]
        self.enriched = sorted(messages["EnrichedTick"].fields, key=lambda f: f.number)


def _check_items(lay: _Layout, where: str, cls: str, items: list[str], scalar0: int) -> list[str]:
    names = _fields(lay.events[cls])
    if len(items) != len(names):
        return [f"{where}: builds a {cls} of {len(items)} items, {cls} has {len(names)} fields"]
    problems = []
    for i, (item, name) in enumerate(zip(items, names, strict=True)):
        s = re.fullmatch(r"int_i64\(py, s\[(\d+)\]\)\?", item)
        if s is not None:  # a bus tick scalar: proto field scalar0 + k
            got = lay.by_number.get(scalar0 + int(s.group(1)))
            ok = got == name
        else:
            tokens = set(re.findall(r"[A-Za-z_]\w*", item))
            got = item
            ok = bool(tokens & ({name} | NATIVE_ALIASES.get(name, set())))
        if not ok:
            problems.append(f"{where}: {cls} item {i} is {got!r}, expected {cls}.{name}")
    return problems


def native_problems(
    sources: Mapping[str, str], messages: Mapping[str, Any], events: Mapping[str, type]
) -> list[str]:
    """Where the native extension's hard-coded field orders disagree with the events/proto."""
    lay = _Layout(messages, events)
    problems: list[str] = []
    for check in (_check_marketdata, _check_lib, _check_encode, _check_columns):
        try:
            problems += check(sources, lay)
        except _Missing as e:
            problems.append(f"{check.__name__.removeprefix('_check_')}.rs: {e}")
    return [f"native/quant_wire/src/{p}" for p in problems]


def _scalar_span(lay: _Layout) -> tuple[int, int]:
    numbers = [lay.number[n] for n in lay.scalars]
    return numbers[0], numbers[-1]


def _check_marketdata(src: Mapping[str, str], lay: _Layout) -> list[str]:
    text = src["marketdata.rs"]
    problems = []
    first, last = _scalar_span(lay)
    m = _find(
        r"\((\d+)\.\.=(\d+), VARINT\) => m\.scalars\[\(f - (\d+)\) as usize\]", text, "scalars"
    )
    (n,) = _ints(_find(r"scalars: \[i64; (\d+)\]", text, "the scalars array").group(1))
    span = (int(m.group(1)), int(m.group(2)), int(m.group(3)), n)
    if span != (first, last, first, last - first + 1):
        problems.append(
            f"marketdata.rs: Tick scalars read as fields {span[0]}..={span[1]} into [i64; {n}], "
            f"the proto's int64 fields after the mode are {first}..={last}"
        )
    for name, pattern in (
        ("instrument_key", r"\((\d+), LEN\) => m\.key"),
        ("mode", r"\((\d+), VARINT\) => m\.mode"),
        ("depth", r"\((\d+), LEN\) => m\.depth\.push"),
        ("ohlc", r"\((\d+), LEN\) => m\.ohlc\.push"),
    ):
        got = int(_find(pattern, text, f"the {name} field").group(1))
        if got != lay.number[name]:
            problems.append(
                f"marketdata.rs: reads Tick.{name} as field {got}, proto has {lay.number[name]}"
            )
    for fn, cls in (
        ("parse_level", "DepthLevel"),
        ("parse_bar", "FeedOhlc"),
        ("parse_tick_into", "Tick"),
    ):
        body = _fn_body(text, fn)
        got = int(_find(r"\(1\.\.=(\d+), _\) => return mismatch", body, fn).group(1))
        n = len(_fields(lay.events[cls]))
        if got != n:
            problems.append(f"marketdata.rs: {fn} knows fields 1..={got}, {cls} has {n}")
    return problems


def _check_lib(src: Mapping[str, str], lay: _Layout) -> list[str]:
    text = src["lib.rs"]
    problems = []
    first, _ = _scalar_span(lay)
    seen = set()
    for fn in ("tick", "depth_level", "ohlc_tuple", "greeks_tuple", "bus_tick"):
        for cls, items in _make_calls(_fn_body(text, fn)):
            if cls in NATIVE_CLASSES:
                seen.add(NATIVE_CLASSES[cls])
                problems += _check_items(lay, f"lib.rs fn {fn}", NATIVE_CLASSES[cls], items, first)
    missing = set(NATIVE_CLASSES.values()) - seen
    if missing:
        problems.append(
            f"lib.rs: found no make() call building {sorted(missing)}: update the check"
        )
    return problems


def _check_encode(src: Mapping[str, str], lay: _Layout) -> list[str]:
    text = src["encode.rs"]
    problems = []
    size = int(_find(r"const TICK_FIELDS: usize = (\d+);", text, "TICK_FIELDS").group(1))
    if size != len(lay.tick_fields):
        problems.append(f"encode.rs: TICK_FIELDS = {size}, Tick has {len(lay.tick_fields)}")
    tags = _ints(_find(r"const INT_TAGS: \[u8; \d+\] = \[(.*?)\];", text, "INT_TAGS").group(1))
    offset = int(_find(r"t\.get_item\(k \+ (\d+)\)", text, "the scalars' tuple offset").group(1))
    for k, tag in enumerate(tags):
        number, wire = tag >> 3, tag & 7
        at = offset + k
        name = lay.tick_fields[at] if at < len(lay.tick_fields) else "(none)"
        if wire != 0 or lay.by_number.get(number) != name or name not in lay.scalars:
            problems.append(
                f"encode.rs: writes Tick item {at} ({name}) as field {number}, wire type "
                f"{wire}; the proto has {lay.by_number.get(number)}"
            )
    if len(tags) != len(lay.scalars):
        problems.append(f"encode.rs: {len(tags)} scalar tags, Tick has {len(lay.scalars)} scalars")
    hex_ = r"(0x[0-9a-fA-F]+)"
    checks = (  # (field, the tuple item read .*? the tag it is written with)
        ("instrument_key", rf"let key = t\.get_item\((\d+)\).*?string_field\(out, {hex_}, "),
        ("mode", rf"let mode: i64 = t\.get_item\((\d+)\).*?int_field\(out, &\[{hex_}\]"),
        ("depth", rf"for level in t\.get_item\((\d+)\).*?message_field\(out, {hex_}, sub\)"),
        ("ohlc", rf"for bar in t\.get_item\((\d+)\).*?message_field\(out, {hex_}, sub\)"),
    )
    for name, pattern in checks:
        m = _find(pattern, text, f"the {name} item and tag")
        at, number = int(m.group(1)), int(m.group(2), 0) >> 3
        if lay.tick_fields[at] != name or number != lay.number[name]:
            problems.append(
                f"encode.rs: writes Tick item {at} as {name} (field {number}); Tick.{name} is "
                f"item {lay.tick_fields.index(name)}, field {lay.number[name]}"
            )
    for cls, pattern in (
        ("DepthLevel", r"for j in 0\.\.(\d+)"),
        ("FeedOhlc", r"for j in 1\.\.(\d+)"),
    ):
        got = int(_find(pattern, text, f"the {cls} loop").group(1))
        if got != len(_fields(lay.events[cls])):
            problems.append(
                f"encode.rs: writes {got} {cls} fields, it has {len(_fields(lay.events[cls]))}"
            )
    return problems


def _check_columns(src: Mapping[str, str], lay: _Layout) -> list[str]:
    text = src["columns.rs"]
    problems = []
    rows = int(_find(r"const INT_ROWS: usize = (\d+);", text, "INT_ROWS").group(1))
    row0 = int(
        _find(r"put\(buf, \(k \+ (\d+)\) \* stride \+ n, v\)", text, "the scalar rows").group(1)
    )
    if (rows, row0) != (1 + len(lay.scalars), 1):
        problems.append(
            f"columns.rs: {rows} int rows with the scalars from row {row0}; Tick has the mode "
            f"(row 0) and {len(lay.scalars)} scalars (rows 1..)"
        )
    ints = [f for f in lay.enriched if f.type in (*_INT_TYPES, _ENUM) and f.name != "ts_enriched"]
    doubles = [f for f in lay.enriched if f.type == _DOUBLE]
    for const, want in (("INT_TAGS", ints), ("FLOAT_TAGS", doubles)):
        body = _find(rf"const {const}: \[&\[u8\]; \w+\] = \[(.*?)\];", text, const).group(1)
        tags = [_ints(t) for t in re.findall(r"&\[([^\]]*)\]", body)]
        got = [_varint_field(t)[0] for t in tags]
        if got != [f.number for f in want]:
            problems.append(
                f"columns.rs: {const} are fields {got}; EnrichedTick's are "
                f"{[f.number for f in want]} ({[f.name for f in want]})"
            )
    for const, n in (("ENRICHED_INTS", len(ints)), ("ENRICHED_FLOATS", len(doubles))):
        got = int(_find(rf"const {const}: usize = (\d+);", text, const).group(1))
        if got != n:
            problems.append(f"columns.rs: {const} = {got}, EnrichedTick has {n}")
    tag = _ints(
        _find(r"const TS_ENRICHED_TAG: &\[u8\] = &\[([^\]]*)\]", text, "TS_ENRICHED_TAG").group(1)
    )
    want_ts = next(f.number for f in lay.enriched if f.name == "ts_enriched")
    if _varint_field(tag)[0] != want_ts:
        problems.append(
            f"columns.rs: TS_ENRICHED_TAG is field {_varint_field(tag)[0]}, proto has {want_ts}"
        )
    return problems


# --- drift and the command line ------------------------------------------------------


def drift(
    events: Mapping[str, type] | None = None,
    messages: Mapping[str, Any] | None = None,
    native: Mapping[str, str] | None = None,
    committed: str | None = None,
) -> list[str]:
    """Every problem found (empty when the tables, the events, the proto and the native
    code agree); the arguments replace what is read from the checkout (for tests)."""
    from quant.analytics import columns as analytics

    events = load_events() if events is None else events
    messages = load_messages() if messages is None else messages
    problems = schema_problems(messages, events)
    try:
        text = generate(events)
    except ValueError as e:
        problems.append(f"cannot generate {TABLES_PY.relative_to(ROOT)}: {e}")
    else:
        have = TABLES_PY.read_text() if committed is None else committed
        if text != have:
            problems.append(f"stale: {TABLES_PY.relative_to(ROOT)} (run `make columns`)")
    problems += analytics_problems(events, analytics.TickColumns, analytics.EnrichedColumns)
    problems += native_problems(load_native() if native is None else native, messages, events)
    return problems


def _report(problems: Sequence[str], out: Callable[[str], None]) -> None:
    for p in problems:
        out(p)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail on drift, write nothing")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "services"))  # this checkout's quant, whatever is installed
    if args.check:
        problems = drift()
        _report(problems, lambda p: print(p, file=sys.stderr))
        if problems:
            print("column tables drifted (see above; `make columns` regenerates)", file=sys.stderr)
            return 1
        print("column tables, events, proto and native layouts agree")
        return 0
    events, messages = load_events(), load_messages()
    schema = schema_problems(messages, events)
    if schema:
        _report(schema, lambda p: print(p, file=sys.stderr))
        print("events and proto disagree: fix them first; nothing written", file=sys.stderr)
        return 1
    TABLES_PY.write_text(generate(events))
    print(f"wrote {TABLES_PY.relative_to(ROOT)}")
    rest = [p for p in drift() if not p.startswith("stale:")]
    _report(rest, lambda p: print(p, file=sys.stderr))
    return 1 if rest else 0


if __name__ == "__main__":
    raise SystemExit(main())
