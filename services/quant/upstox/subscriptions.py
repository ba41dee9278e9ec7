"""The one book of feed subscriptions: which key is subscribed in which mode, on which socket.

Pure state plus Upstox's V3 feed limits per user (UPSTOX.md §2.3, the figures in
:mod:`quant.upstox.constants`): per-mode *individual* limits while one mode is subscribed,
*combined* limits once several are, ``full_d30`` only with Upstox Plus, and a cap on
connections. Every change is checked *before* it is applied; a key that would break a
limit (or is malformed, or is not subscribed for a ``change_mode``) is refused with a
:class:`Refusal` and the rest go ahead. Keys are spread over the connections,
least-loaded first; :class:`Change` says what to send on which socket.

Owners: the ingestor (``quant.ingestor.service``) keeps one book for the user across all
its sockets and turns each :class:`Change` into requests; each
:class:`quant.upstox.feed.UpstoxFeedClient` keeps one for its own connection (replayed
after a reconnect), applied atomically, which raises
:class:`~quant.upstox.errors.FeedSubscriptionLimitError` instead of sending a request the
limits refuse. :meth:`SubscriptionBook.revert` undoes an accepted change the venue then
refused.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, KeysView, Mapping
from dataclasses import dataclass, field
from typing import Literal

from quant.core.events import FeedMode
from quant.core.instruments import validate_instrument_key
from quant.upstox.constants import (
    FEED_COMBINED_LIMITS,
    FEED_CONNECTIONS,
    FEED_CONNECTIONS_PLUS,
    FEED_INDIVIDUAL_LIMITS,
    FEED_PLUS_ONLY_MODES,
)


def _normal(table: Mapping[FeedMode, int]) -> dict[FeedMode, int]:
    """``table`` for an account without Upstox Plus: no keys in the Plus-only modes."""
    return {mode: 0 if mode in FEED_PLUS_ONLY_MODES else n for mode, n in table.items()}


@dataclass(frozen=True)
class FeedLimits:
    """Upstox V3 feed limits for one user (defaults: a normal account, without Plus).

    Upstox's page gives ``full_d30`` a combined limit (1500) above its individual one (50);
    subscribing a second mode cannot make room for more ``full_d30`` keys than it alone
    allows, so a mode's limit while several are in use is the lower of the two.
    """

    connections: int = FEED_CONNECTIONS
    individual: Mapping[FeedMode, int] = field(
        default_factory=lambda: _normal(FEED_INDIVIDUAL_LIMITS)
    )
    combined: Mapping[FeedMode, int] = field(default_factory=lambda: _normal(FEED_COMBINED_LIMITS))

    @classmethod
    def plus(cls) -> FeedLimits:
        """Limits for an Upstox Plus account (5 sockets, ``full_d30`` allowed)."""
        return cls(
            connections=FEED_CONNECTIONS_PLUS,
            individual=dict(FEED_INDIVIDUAL_LIMITS),
            combined=dict(FEED_COMBINED_LIMITS),
        )

    @classmethod
    def unlimited(cls) -> FeedLimits:
        """No key limits (client-side checks switched off: ``FeedConfig.enforce_limits``)."""
        table = dict.fromkeys(FeedMode, sys.maxsize)
        return cls(connections=FEED_CONNECTIONS_PLUS, individual=table, combined=table)

    def limit(self, mode: FeedMode, *, combined: bool) -> int:
        """Keys allowed in ``mode``, alone (``combined=False``) or beside other modes."""
        individual = self.individual.get(mode, 0)
        return min(individual, self.combined.get(mode, 0)) if combined else individual

    def allows(self, counts: Mapping[FeedMode, int]) -> FeedMode | None:
        """The first mode whose count breaks the limits, or ``None`` if all fit."""
        active = [m for m, n in counts.items() if n > 0]
        combined = len(active) > 1
        for mode in sorted(active):
            if counts[mode] > self.limit(mode, combined=combined):
                return mode
        return None


RefusalKind = Literal["limit", "not_subscribed", "invalid_key", "venue"]
"""Why a key was refused: by the book (the first three) or by the feed after the book."""


@dataclass(frozen=True)
class Refusal:
    """A key the book refused to (re)subscribe, and why (``kind`` labels the metric)."""

    instrument_key: str
    mode: FeedMode
    reason: str
    kind: RefusalKind = "limit"


@dataclass
class Change:
    """What to send to each connection after a request: per socket, per mode.

    ``previous`` holds the mode each ``change_mode`` key had before, for :meth:`revert`.
    """

    subscribe: dict[int, dict[FeedMode, list[str]]] = field(default_factory=dict)
    change_mode: dict[int, dict[FeedMode, list[str]]] = field(default_factory=dict)
    unsubscribe: dict[int, list[str]] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    previous: dict[str, FeedMode] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.subscribe or self.change_mode or self.unsubscribe)


class SubscriptionBook:
    """Subscriptions of one user, within :class:`FeedLimits`, over ``connections`` sockets."""

    def __init__(self, limits: FeedLimits | None = None, connections: int = 1) -> None:
        self.limits = limits or FeedLimits()
        if not 1 <= connections <= self.limits.connections:
            raise ValueError(
                f"{connections} feed connections requested; the account allows "
                f"1..{self.limits.connections}"
            )
        self.connections = connections
        self._mode: dict[str, FeedMode] = {}
        self._socket: dict[str, int] = {}
        self._counts: dict[FeedMode, int] = dict.fromkeys(FeedMode, 0)
        self._load: list[int] = [0] * connections

    # -- queries -------------------------------------------------------------------
    def mode_of(self, instrument_key: str) -> FeedMode | None:
        return self._mode.get(instrument_key)

    def socket_of(self, instrument_key: str) -> int | None:
        return self._socket.get(instrument_key)

    def counts(self) -> dict[FeedMode, int]:
        """Subscribed keys per mode (modes with none left out)."""
        return {mode: n for mode, n in self._counts.items() if n}

    def on_socket(self, socket: int) -> dict[FeedMode, list[str]]:
        """Everything subscribed on ``socket``, grouped by mode (to replay on reconnect)."""
        out: dict[FeedMode, list[str]] = {}
        for key, sock in self._socket.items():
            if sock == socket:
                out.setdefault(self._mode[key], []).append(key)
        return out

    def by_mode(self) -> dict[FeedMode, list[str]]:
        """Every subscribed key grouped by mode, sorted for stable replays."""
        out: dict[FeedMode, list[str]] = {}
        for key, mode in sorted(self._mode.items()):
            out.setdefault(mode, []).append(key)
        return out

    def __len__(self) -> int:
        return len(self._mode)

    def __contains__(self, key: object) -> bool:
        return key in self._mode

    def keys(self) -> KeysView[str]:
        """The subscribed keys, a live view (the feed decoders' known-key check)."""
        return self._mode.keys()

    # -- changes -------------------------------------------------------------------
    def subscribe(self, keys: Iterable[str], mode: FeedMode) -> Change:
        """Subscribe new keys in ``mode``; keys already subscribed change mode instead."""
        change = Change()
        counts = self._counts
        for key in dict.fromkeys(keys):
            current = self._mode.get(key)
            if current == mode:
                continue
            try:
                validate_instrument_key(key)
            except ValueError as e:
                change.refused.append(Refusal(key, mode, str(e), "invalid_key"))
                continue
            trial = dict(counts)
            trial[mode] += 1
            if current is not None:
                trial[current] -= 1
            broken = self.limits.allows(trial)
            if broken is not None:
                change.refused.append(Refusal(key, mode, self._limit_reason(broken, trial)))
                continue
            if current is None:
                sock = self._least_loaded()
                self._socket[key] = sock
                self._load[sock] += 1
                change.subscribe.setdefault(sock, {}).setdefault(mode, []).append(key)
            else:
                sock = self._socket[key]
                change.change_mode.setdefault(sock, {}).setdefault(mode, []).append(key)
                change.previous.setdefault(key, current)
            self._set(key, mode)
        return change

    def change_mode(self, keys: Iterable[str], mode: FeedMode) -> Change:
        """Change the mode of subscribed keys; unknown keys are refused."""
        wanted = list(dict.fromkeys(keys))
        change = self.subscribe([k for k in wanted if k in self._mode], mode)
        change.refused.extend(
            Refusal(
                k, mode, "not subscribed: change_mode needs an existing subscription",
                "not_subscribed",
            )
            for k in wanted
            if k not in self._mode
        )  # fmt: skip
        return change

    def unsubscribe(self, keys: Iterable[str]) -> Change:
        change = Change()
        for key in dict.fromkeys(keys):
            if key not in self._mode:
                continue
            sock = self._drop(key)
            change.unsubscribe.setdefault(sock, []).append(key)
        return change

    def revert(self, change: Change, keys: Iterable[str] | None = None) -> None:
        """Undo ``change``'s subscriptions and mode changes (of ``keys`` only, if given).

        For a request the book accepted and the venue then refused: new keys are dropped,
        moved keys go back to their previous mode. Unsubscriptions are not undone.
        """
        only = None if keys is None else set(keys)
        for by_mode in change.subscribe.values():
            for subscribed in by_mode.values():
                for key in subscribed:
                    if (only is None or key in only) and key in self._mode:
                        self._drop(key)
        for key, previous in change.previous.items():
            if (only is None or key in only) and key in self._mode:
                self._set(key, previous)

    # -- internals -----------------------------------------------------------------
    def _set(self, key: str, mode: FeedMode) -> None:
        current = self._mode.get(key)
        if current is not None:
            self._counts[current] -= 1
        self._counts[mode] += 1
        self._mode[key] = mode

    def _drop(self, key: str) -> int:
        self._counts[self._mode.pop(key)] -= 1
        sock = self._socket.pop(key)
        self._load[sock] -= 1
        return sock

    def _least_loaded(self) -> int:
        load = self._load
        return min(range(self.connections), key=lambda s: (load[s], s))

    def _limit_reason(self, mode: FeedMode, counts: Mapping[FeedMode, int]) -> str:
        combined = sum(1 for n in counts.values() if n > 0) > 1
        limit = self.limits.limit(mode, combined=combined)
        if limit == 0 and mode in FEED_PLUS_ONLY_MODES:
            return f"{mode.wire_name} needs an Upstox Plus plan"
        kind = "combined" if combined else "individual"
        return (
            f"{mode.wire_name} limit reached: {counts[mode]} keys would exceed Upstox's "
            f"{kind} limit of {limit}"
        )
