"""The ingestor's subscription book: which keys are subscribed in which mode, on which socket.

Pure state plus Upstox's V3 feed limits (UPSTOX.md §2.3): per-mode *individual* limits
when one category is subscribed, lower *combined* limits once several are, and a cap on
connections per user. Every change is checked against the limits *before* it is applied;
a request that would break them is refused per key with a reason, and the refusal is
returned so the service can log and count it. Keys are spread over the user's
connections, least-loaded first. The ingestor service (``quant.ingestor.service``) owns
one book and turns its :class:`Change` results into socket requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from quant.core.events import FeedMode


@dataclass(frozen=True)
class FeedLimits:
    """Upstox V3 feed limits for one user (defaults: a normal, non-Plus account)."""

    connections: int = 2
    individual: Mapping[FeedMode, int] = field(
        default_factory=lambda: {
            FeedMode.LTPC: 5000,
            FeedMode.OPTION_GREEKS: 3000,
            FeedMode.FULL: 2000,
            FeedMode.FULL_D30: 0,
        }
    )
    combined: Mapping[FeedMode, int] = field(
        default_factory=lambda: {
            FeedMode.LTPC: 2000,
            FeedMode.OPTION_GREEKS: 2000,
            FeedMode.FULL: 1500,
            FeedMode.FULL_D30: 0,
        }
    )

    @classmethod
    def plus(cls) -> FeedLimits:
        """Limits for an Upstox Plus account (5 sockets, full_d30 allowed)."""
        base = cls()
        return cls(
            connections=5,
            individual={**base.individual, FeedMode.FULL_D30: 50},
            combined={**base.combined, FeedMode.FULL_D30: 1500},
        )

    def allows(self, counts: Mapping[FeedMode, int]) -> FeedMode | None:
        """The first mode whose count breaks the limits, or ``None`` if all fit."""
        active = [m for m, n in counts.items() if n > 0]
        table = self.individual if len(active) <= 1 else self.combined
        for mode in sorted(active):
            if counts[mode] > table.get(mode, 0):
                return mode
        return None


@dataclass(frozen=True)
class Refusal:
    """A key the book refused to (re)subscribe, and why."""

    instrument_key: str
    mode: FeedMode
    reason: str


@dataclass
class Change:
    """What to send to each connection after a request: per socket, per mode."""

    subscribe: dict[int, dict[FeedMode, list[str]]] = field(default_factory=dict)
    change_mode: dict[int, dict[FeedMode, list[str]]] = field(default_factory=dict)
    unsubscribe: dict[int, list[str]] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)

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

    # -- queries -------------------------------------------------------------------
    def mode_of(self, instrument_key: str) -> FeedMode | None:
        return self._mode.get(instrument_key)

    def socket_of(self, instrument_key: str) -> int | None:
        return self._socket.get(instrument_key)

    def counts(self) -> dict[FeedMode, int]:
        return dict(Counter(self._mode.values()))

    def on_socket(self, socket: int) -> dict[FeedMode, list[str]]:
        """Everything subscribed on ``socket``, grouped by mode (to replay on reconnect)."""
        out: dict[FeedMode, list[str]] = {}
        for key, sock in self._socket.items():
            if sock == socket:
                out.setdefault(self._mode[key], []).append(key)
        return out

    def __len__(self) -> int:
        return len(self._mode)

    # -- changes -------------------------------------------------------------------
    def subscribe(self, keys: Iterable[str], mode: FeedMode) -> Change:
        """Subscribe new keys in ``mode``; keys already subscribed change mode instead."""
        change = Change()
        for key in dict.fromkeys(keys):
            current = self._mode.get(key)
            if current == mode:
                continue
            trial = self.counts()
            trial[mode] = trial.get(mode, 0) + 1
            if current is not None:
                trial[current] -= 1
            broken = self.limits.allows(trial)
            if broken is not None:
                change.refused.append(Refusal(key, mode, self._limit_reason(broken, trial)))
                continue
            if current is None:
                sock = self._least_loaded()
                self._socket[key] = sock
                change.subscribe.setdefault(sock, {}).setdefault(mode, []).append(key)
            else:
                sock = self._socket[key]
                change.change_mode.setdefault(sock, {}).setdefault(mode, []).append(key)
            self._mode[key] = mode
        return change

    def change_mode(self, keys: Iterable[str], mode: FeedMode) -> Change:
        """Change the mode of subscribed keys; unknown keys are refused."""
        known = [k for k in keys if k in self._mode]
        change = self.subscribe(known, mode)
        change.refused.extend(
            Refusal(k, mode, "not subscribed: change_mode needs an existing subscription")
            for k in keys
            if k not in self._mode
        )
        return change

    def unsubscribe(self, keys: Iterable[str]) -> Change:
        change = Change()
        for key in dict.fromkeys(keys):
            if key not in self._mode:
                continue
            sock = self._socket.pop(key)
            del self._mode[key]
            change.unsubscribe.setdefault(sock, []).append(key)
        return change

    def _least_loaded(self) -> int:
        load = Counter(self._socket.values())
        return min(range(self.connections), key=lambda s: (load.get(s, 0), s))

    def _limit_reason(self, mode: FeedMode, counts: Mapping[FeedMode, int]) -> str:
        combined = sum(1 for n in counts.values() if n > 0) > 1
        table = self.limits.combined if combined else self.limits.individual
        kind = "combined" if combined else "individual"
        return (
            f"{mode.wire_name} limit reached: {counts[mode] - 1} of {table.get(mode, 0)} "
            f"keys ({kind} limit) already subscribed"
        )
