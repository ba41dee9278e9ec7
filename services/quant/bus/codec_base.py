"""Shared pieces of the bus codecs: ``CodecError``, the ``Codec`` pair, enum tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class CodecError(ValueError):
    """A payload could not be decoded into a domain event (bad bytes or enum value)."""


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """An encode/decode pair for one event type."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


def enum_table(enum: Any) -> tuple[Any, ...]:
    """Index = wire value, item = enum member (``None`` for 0/unspecified and gaps)."""
    size = max(int(m) for m in enum) + 1
    table: list[Any] = [None] * size
    for m in enum:
        table[int(m)] = m
    return tuple(table)


def member(table: tuple[T, ...], value: int, what: str) -> T:
    """``table[value]``, or ``CodecError`` for an unspecified or unknown wire value."""
    found = table[value] if 0 <= value < len(table) else None
    if found is None:
        raise CodecError(f"invalid {what} {value} on the wire")
    return found
