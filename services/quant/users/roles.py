"""Roles, ordered: a viewer reads, a trader also trades, an admin also manages the platform."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    VIEWER = 1
    TRADER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The name stored and shown: ``viewer``, ``trader``, ``admin``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """``viewer`` / ``trader`` / ``admin`` (any case); ValueError saying the choices."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown role {text[:20]!r}: use one of {', '.join(ROLE_NAMES)}"
            ) from None

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may (higher roles include lower ones)."""
        return self >= needed


ROLE_NAMES = tuple(r.label for r in Role)
