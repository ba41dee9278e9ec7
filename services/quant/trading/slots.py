"""Building frozen, slotted dataclass values on the OMS hot path without their ``__init__``.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``
(the frozen class refuses plain assignment), about 90 ns a field; calling the slot's own
member descriptor costs about half, and skipping ``__post_init__`` saves its checks. The
OMS's hot steps (``Order.new`` / ``accepted`` / ``fill`` and the ``Fill`` it makes,
``Position.apply``) build their new values this way, always from values that are valid by
construction (the tests check that each equals what the validating constructor makes);
every other construction goes through the dataclass as usual.

Used by ``quant.trading.order`` and ``quant.trading.positions`` only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Setter, ...]:
    """The member-descriptor setters of ``cls``'s fields ``names``, in that order.

    ``names`` must be exactly the dataclass's fields (``TypeError`` otherwise), so a field
    added later cannot be left unset by a fast builder that forgot it.
    """
    fields = {f.name for f in dataclasses.fields(cls)}
    if set(names) != fields or len(names) != len(fields):
        raise TypeError(f"{cls.__name__} fields {sorted(fields)} != {list(names)}")
    setters: list[Setter] = [cls.__dict__[name].__set__ for name in names]
    return tuple(setters)


new_instance: Callable[[type], Any] = object.__new__
"""``object.__new__``: an instance whose slots are still unset (set every one next)."""
