"""The trading domain's exceptions: one base class, one subclass per kind of refusal.

Each is a ``ValueError`` (the caller passed something the domain cannot accept), carries a
message a person can act on, and is raised before any state changes: a refused operation
leaves the order or position exactly as it was. The execution service maps them to
rejection reasons; nothing here is retryable.
"""

from __future__ import annotations


class TradingError(ValueError):
    """Base class of every refusal by the trading domain."""


class InvalidIntent(TradingError):
    """An order intent (or an amendment of one) is malformed: bad quantity, prices, names."""


class IllegalTransition(TradingError):
    """An order was asked to move between two statuses the transition table does not allow."""


class InvalidFill(TradingError):
    """A fill has a non-positive quantity or price, or does not belong to the order."""


class OverFill(InvalidFill):
    """A fill would take an order's filled quantity past its quantity."""


class ReplayError(TradingError):
    """A sequence of order events cannot be replayed (it goes backwards or contradicts itself)."""
