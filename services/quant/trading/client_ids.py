"""Deterministic client order ids: strategy + trading day + sequence, sent as the Upstox ``tag``.

Format ``<prefix>-<yymmdd>-<sequence>``, e.g. ``orb-261207-42``:

- ``prefix`` names the strategy in at most 6 characters: the strategy name itself when it is
  already 1-6 lowercase letters/digits (``orb``, ``manual``), otherwise its first two
  letters/digits and 4 hex digits of its BLAKE2b hash (``momentum_breakout`` ->
  ``mo`` + 4 hex). Deterministic across processes and machines; two configured strategies
  whose prefixes collide are refused by :func:`ensure_distinct_prefixes`.
- ``yymmdd`` is the trading day (IST), so ids stay unique across days even though each
  day's sequence starts again at 1, and one day's ids can be looked up by tag.
- ``sequence`` is 1..999,999 per strategy per day (SEBI's 10 orders/s over a whole session
  is 225,000); the OMS takes the next one with :func:`next_sequence` from the ids already
  in the audit trail, so a restart never reuses one.

The id is at most 20 characters of ``[a-z0-9-]``: inside Upstox's ``tag`` limit (40
characters per ../shared/UPSTOX.md §6, not confirmed officially) and the 20 other Indian
brokers use, so it is never truncated. The same intent replayed with the same sequence
gets the same id: that is what makes a place-order retry detectable by tag.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

from quant.trading.errors import InvalidIntent

MAX_CLIENT_ORDER_ID_LENGTH = 20
MAX_SEQUENCE = 999_999
_PREFIX_LENGTH = 6
_SHORT_NAME = re.compile(r"[a-z0-9]{1,6}")
_ID = re.compile(r"([a-z0-9]{1,6})-(\d{6})-([1-9]\d{0,5})")


class ClientOrderId(NamedTuple):
    """The parts of a client order id."""

    prefix: str
    day: date
    sequence: int

    def __str__(self) -> str:
        d = self.day  # not strftime: 1 µs less on the OMS hot path
        return f"{self.prefix}-{d.year % 100:02d}{d.month:02d}{d.day:02d}-{self.sequence}"


def strategy_prefix(strategy: str) -> str:
    """The 1-6 character prefix that stands for ``strategy`` in its client order ids."""
    if not strategy:
        raise InvalidIntent("a strategy name is needed for a client order id")
    if _SHORT_NAME.fullmatch(strategy):
        return strategy
    alnum = "".join(c for c in strategy.lower() if c.isascii() and c.isalnum())[:2]
    digest = hashlib.blake2b(strategy.encode(), digest_size=2).hexdigest()
    return (alnum + digest)[:_PREFIX_LENGTH]


def client_order_id(strategy: str, day: date, sequence: int) -> str:
    """The client order id of ``strategy``'s ``sequence``-th order on trading day ``day``."""
    if isinstance(sequence, bool) or not 1 <= sequence <= MAX_SEQUENCE:
        raise InvalidIntent(f"order sequence must be 1..{MAX_SEQUENCE}, got {sequence!r}")
    if not 2000 <= day.year <= 2099:
        raise InvalidIntent(f"trading day {day} is outside 2000-2099")
    # at most 6 + 1 + 6 + 1 + 6 = MAX_CLIENT_ORDER_ID_LENGTH characters
    return str(ClientOrderId(strategy_prefix(strategy), day, sequence))


def parse_client_order_id(cid: str) -> ClientOrderId:
    """Split a client order id into its parts; ``InvalidIntent`` if it is not one of ours."""
    m = _ID.fullmatch(cid)
    if m is None:
        raise InvalidIntent(f"{cid!r} is not a client order id of the form prefix-yymmdd-seq")
    digits = m.group(2)
    try:
        day = date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError as e:
        raise InvalidIntent(f"{cid!r} has no valid trading day: {e}") from e
    return ClientOrderId(m.group(1), day, int(m.group(3)))


def next_sequence(existing: Iterable[str], strategy: str, day: date) -> int:
    """The next free sequence for ``strategy`` on ``day``, given the ids already used.

    Ids that are not ours (orders placed from the Upstox app carry other tags, or none) and
    other strategies' or days' ids are ignored.
    """
    prefix = strategy_prefix(strategy)
    used = 0
    for cid in existing:
        try:
            parts = parse_client_order_id(cid)
        except InvalidIntent:
            continue
        if parts.prefix == prefix and parts.day == day:
            used = max(used, parts.sequence)
    if used >= MAX_SEQUENCE:
        raise InvalidIntent(f"strategy {strategy!r} has used all {MAX_SEQUENCE} ids for {day}")
    return used + 1


def ensure_distinct_prefixes(strategies: Iterable[str]) -> None:
    """Refuse a set of strategy names two of which would share client order ids."""
    seen: dict[str, str] = {}
    for name in strategies:
        prefix = strategy_prefix(name)
        other = seen.setdefault(prefix, name)
        if other != name:
            raise InvalidIntent(
                f"strategies {other!r} and {name!r} share the client order id prefix "
                f"{prefix!r}; rename one of them"
            )
