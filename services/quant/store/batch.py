"""Typed column batches: the base of what the tick-store port's ``write`` takes.

A batch is the rows of one tick-store table as columns: a frozen dataclass per table
(``TickBatch``, ``GreeksBatch``, ``CandleBatch``, generated into :mod:`quant.store.tables`
from the domain events) whose fields are the table's columns: ``IntColumn`` /
``FloatColumn`` numpy arrays, ``instrument_key`` and any other text column (``TEXTS``,
e.g. a scanner pick's symbol and reasons) a sequence of str. A group of columns
a batch may carry or not (the feature columns of ``ticks``) is a nested batch, or ``None``.

:class:`ColumnSet` is their common base: a batch is checked when it is made (every column
1-d and of its dtype, all of one length), so an adapter never sees a malformed one; and
:class:`~quant.store.batching.BatchingWriter` splits (:meth:`ColumnSet.take`) and joins
(:func:`concat`) batches through it. Pure: numpy only. Callers hand their arrays over
and must not modify them afterwards (batches are views, not copies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, compress
from typing import Any, ClassVar, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

IntColumn: TypeAlias = npt.NDArray[np.int64]
FloatColumn: TypeAlias = npt.NDArray[np.float64]
Keys: TypeAlias = Sequence[str]
TextColumn: TypeAlias = Sequence[str]
Column: TypeAlias = IntColumn | FloatColumn | Keys
KEY = "instrument_key"
"""The text column of every table; the others are numeric arrays unless in ``TEXTS``."""

_INT = np.dtype(np.int64)
_FLOAT = np.dtype(np.float64)
S = TypeVar("S", bound="ColumnSet")


def _describe(values: object) -> str:
    if isinstance(values, np.ndarray):
        return f"a {values.ndim}-d {values.dtype} array"
    return type(values).__name__


class ColumnSet:
    """Equal-length columns named by the subclass's dataclass fields (see the module)."""

    __slots__ = ()
    COLUMNS: ClassVar[tuple[str, ...]]
    """Its own columns, in table order (a nested group's come after them)."""
    FLOATS: ClassVar[frozenset[str]] = frozenset()
    """Those of ``COLUMNS`` that are float64; the others are int64 (text: see ``TEXTS``)."""
    TEXTS: ClassVar[frozenset[str]] = frozenset()
    """Those of ``COLUMNS`` besides ``instrument_key`` that are sequences of str."""
    GROUPS: ClassVar[tuple[str, ...]] = ()
    """Fields holding an optional group of further columns (a ``ColumnSet`` or ``None``)."""

    def __post_init__(self) -> None:
        name = type(self).__name__
        size = -1
        for column in self.COLUMNS:
            values = getattr(self, column)
            if column == KEY or column in self.TEXTS:
                if isinstance(values, str | bytes | np.ndarray):
                    raise TypeError(f"{name}.{column}: expected a sequence of str, got {values!r}")
                n = len(values)
            else:
                dtype = _FLOAT if column in self.FLOATS else _INT
                if not isinstance(values, np.ndarray) or values.ndim != 1 or values.dtype != dtype:
                    raise TypeError(
                        f"{name}.{column}: expected a 1-d {dtype} array, got {_describe(values)}"
                    )
                n = values.shape[0]
            if size < 0:
                size = n
            elif n != size:
                raise ValueError(
                    f"{name}: columns of different lengths ({self.COLUMNS[0]}: {size}, "
                    f"{column}: {n})"
                )
        for group in self.GROUPS:
            part = getattr(self, group)
            if part is not None and len(part) != size:
                raise ValueError(f"{name}: {size} rows but {len(part)} rows of {group}")

    def __len__(self) -> int:
        return len(getattr(self, self.COLUMNS[0]))

    @property
    def layout(self) -> tuple[str, ...]:
        """The names of the columns this batch carries, in table order."""
        names = self.COLUMNS
        for group in self.GROUPS:
            part: ColumnSet | None = getattr(self, group)
            if part is not None:
                names += part.layout
        return names

    def columns(self) -> dict[str, Column]:
        """Every column this batch carries, by name, in table order."""
        out: dict[str, Column] = {c: getattr(self, c) for c in self.COLUMNS}
        for group in self.GROUPS:
            part: ColumnSet | None = getattr(self, group)
            if part is not None:
                out.update(part.columns())
        return out

    def take(self: S, rows: npt.NDArray[np.bool_]) -> S:
        """The rows where ``rows`` is true, in order (numeric columns as new arrays)."""
        keep = rows.tolist()
        return _rebuild(self, lambda a: a[rows], lambda k: list(compress(k, keep)))


def _rebuild(batch: S, arrays: Callable[[Any], Any], keys: Callable[[Keys], Keys]) -> S:
    values: dict[str, Any] = {}
    for column in batch.COLUMNS:
        v = getattr(batch, column)
        values[column] = keys(v) if column == KEY or column in batch.TEXTS else arrays(v)
    for group in batch.GROUPS:
        part = getattr(batch, group)
        values[group] = None if part is None else _rebuild(part, arrays, keys)
    make: Callable[..., S] = type(batch)
    return make(**values)


def concat(parts: Sequence[S]) -> S:
    """One batch of the rows of ``parts`` (batches of one class and layout), in order."""
    if not parts:
        raise ValueError("concat needs at least one batch")
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if any(type(p) is not type(first) or p.layout != first.layout for p in parts):
        raise ValueError("concat: the batches differ in table or columns")
    values: dict[str, Any] = {}
    for column in first.COLUMNS:
        cols = [getattr(p, column) for p in parts]
        text = column == KEY or column in first.TEXTS
        values[column] = list(chain.from_iterable(cols)) if text else np.concatenate(cols)
    for group in first.GROUPS:
        groups = [getattr(p, group) for p in parts]
        values[group] = None if groups[0] is None else concat(groups)
    make: Callable[..., S] = type(first)
    return make(**values)
