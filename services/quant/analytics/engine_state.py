"""The feature engine's per-instrument state as int64 columns, and its plain-data snapshot.

Everything is an integer (paise, quantities, ns, twice-the-mid), so a snapshot is exact:
a restored engine continues with bit-identical VWAPs, volumes and candles. The snapshot is
a dict of str/int/list values (JSON-serialisable as is) that the features service stores
next to its committed Kafka offsets.

Snapshot format (``version`` 1)::

    {"version": 1,
     "keys": ["NSE_EQ|INE...", ...],            # instrument code i is keys[i]
     "fields": {"day": [...], "last_volume": [...], ...},   # one list per STATE_FIELDS
     "open_candles": [[code, start, o, h, l, c, volume, oi, count], ...],
     "history": [[code, ts, pv_before, qty_before, count_before], ...],
     "history_pruned": 123}   # recent trades with the running totals before each
                              # (quant.analytics.rolling); the size after the last pruning

``last_volume`` may be a real 0 (a full-mode tick before the day's first trade). Snapshots
from before that change hold the last non-zero volume there, which is still a valid
baseline, so the format and its version are unchanged.

Called by :mod:`quant.analytics.engine`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quant.analytics.candles import COLUMNS, Table, empty_table
from quant.analytics.rolling import HISTORY_COLUMNS, History, Level, Levels, flatten
from quant.analytics.segments import IntArray

SNAPSHOT_VERSION = 1
# Per-instrument scalars; the value a fresh instrument (or a new trading day) starts with.
STATE_FIELDS: dict[str, int] = {
    "day": -1,  # IST day number of the session the sums below belong to
    "last_volume": -1,  # cumulative volume of the last tick carrying one (0 is real; -1: none)
    "last_ltt": 0,  # last trade time seen (for feeds without cumulative volume)
    "session_pv": 0,  # Σ price·qty today (paise·qty)
    "session_qty": 0,  # Σ qty today
    "buy_volume": 0,
    "sell_volume": 0,
    "mid2": 0,  # bid + ask of the last two-sided quote today
    "trade_price": 0,  # price of the last trade today
    "direction": 0,  # last non-zero tick direction today (+1 / -1)
    "last_ts": 0,  # latest ts_event seen (time is made non-decreasing per instrument)
    "last_ltp": 0,  # last traded price (any day): the underlying price for options
    "cum_pv": 0,  # running Σ price·qty since the engine started (rolling windows)
    "cum_qty": 0,  # running Σ qty
    "cum_count": 0,  # running number of trades
}
SESSION_FIELDS = ("last_volume", "last_ltt", "session_pv", "session_qty", "buy_volume",
                  "sell_volume", "mid2", "trade_price", "direction")  # fmt: skip

_IDENT = re.compile(r"[0-9a-f]{32}")  # a history level's ident (uuid4 hex)


class SnapshotError(ValueError):
    """A snapshot that this engine cannot restore (wrong version or shape)."""


@dataclass
class EngineState:
    """All mutable state of a feature engine."""

    keys: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    fields: dict[str, IntArray] = field(
        default_factory=lambda: {k: np.zeros(0, dtype=np.int64) for k in STATE_FIELDS}
    )
    open_candles: Table = field(default_factory=empty_table)
    history: Levels = ()  # quant.analytics.rolling levels, oldest first
    history_pruned: int = 0

    def code_of(self, key: str) -> int:
        """The instrument's code, registering it (with fresh state) if new."""
        code = self.codes.get(key)
        if code is None:
            code = self.add_keys([key])[0]
        return code

    def add_keys(self, new_keys: list[str]) -> list[int]:
        """Register instruments not seen before; returns their codes."""
        start = len(self.keys)
        self.keys.extend(new_keys)
        for i, key in enumerate(new_keys):
            self.codes[key] = start + i
        for name, fresh in STATE_FIELDS.items():
            grown = np.full(len(self.keys), fresh, dtype=np.int64)
            grown[:start] = self.fields[name]
            self.fields[name] = grown
        return list(range(start, len(self.keys)))

    def snapshot(self) -> dict[str, Any]:
        """Plain-data copy of the state (see the module docstring)."""
        return {
            "version": SNAPSHOT_VERSION,
            "keys": list(self.keys),
            "fields": {name: values.tolist() for name, values in self.fields.items()},
            "open_candles": self.open_candles.tolist(),
            "history": flatten(self.history).rows().tolist(),
            "history_pruned": self.history_pruned,
        }

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, IntArray]]:
        """The snapshot as (small plain-data header, int64 arrays): no per-row lists.

        Same content as :meth:`snapshot`; the feature service stores it in binary, since
        the rolling-window history holds every recent trade (hundreds of thousands of
        rows at full feed rates) and turning it into JSON lists took a third of a second.
        """
        head = {"version": SNAPSHOT_VERSION, "keys": list(self.keys),
                "history_pruned": self.history_pruned,
                "history_ids": [level.ident for level in self.history]}  # fmt: skip
        arrays = {f"fields.{name}": values for name, values in self.fields.items()}
        arrays["open_candles"] = self.open_candles
        for i, level in enumerate(self.history):  # levels as they are: no merge, no copy
            for name, column in zip(HISTORY_COLUMNS, level.rows, strict=True):
                arrays[f"history.{i}.{name}"] = column
        return head, arrays

    @classmethod
    def from_arrays(cls, head: dict[str, Any], arrays: dict[str, IntArray]) -> EngineState:
        """Rebuild state from :meth:`to_arrays` output (validated like :meth:`restore`)."""
        try:
            data = {
                **head,
                # copies: the state is updated in place, the arrays may be read-only views
                "fields": {name: np.array(arrays[f"fields.{name}"]) for name in STATE_FIELDS},
                "open_candles": arrays["open_candles"],
                "history": arrays.get("history", np.zeros((0, len(HISTORY_COLUMNS)), np.int64)),
            }
        except KeyError as e:
            raise SnapshotError(f"snapshot lacks array {e}") from e
        state = cls.restore(data)
        levels = list(state.history)
        ids = head.get("history_ids") or []
        i = 0
        while f"history.{i}.code" in arrays:
            try:
                columns = [
                    np.asarray(arrays[f"history.{i}.{c}"], np.int64) for c in HISTORY_COLUMNS
                ]
            except KeyError as e:
                raise SnapshotError(f"history level {i} lacks column {e}") from e
            if len({c.shape for c in columns}) != 1 or columns[0].ndim != 1:
                raise SnapshotError(f"history level {i} has ragged columns")
            ident = ids[i] if i < len(ids) and _IDENT.fullmatch(str(ids[i])) else None
            levels.append(Level.of(History(*columns), ident))
            i += 1
        state.history = tuple(level for level in levels if level.size)
        return state

    @classmethod
    def restore(cls, data: dict[str, Any]) -> EngineState:
        """Rebuild state from :meth:`snapshot` output."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(f"unsupported snapshot version {data.get('version')!r}")
        keys = [str(k) for k in data["keys"]]
        n = len(keys)
        fields: dict[str, IntArray] = {}
        for name in STATE_FIELDS:
            values = np.asarray(data["fields"][name], dtype=np.int64)
            if values.shape != (n,):
                raise SnapshotError(f"field {name!r} has shape {values.shape}, expected ({n},)")
            fields[name] = values
        candles = np.asarray(data["open_candles"], dtype=np.int64).reshape(-1, len(COLUMNS))
        flat = History.from_rows(np.asarray(data["history"], dtype=np.int64))
        history: Levels = (Level.of(flat),) if flat.code.size else ()
        return cls(
            keys=keys,
            codes={k: i for i, k in enumerate(keys)},
            fields=fields,
            open_candles=candles,
            history=history,
            history_pruned=int(data["history_pruned"]),
        )
