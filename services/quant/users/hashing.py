"""Secrets hashed with argon2id (``argon2-cffi``), behind a small port.

:class:`Argon2Hasher` defaults to argon2-cffi's parameters (RFC 9106's low-memory
choice: 3 passes over 64 MiB, 4 lanes); the parameters are stored inside each hash, so a
hash made with other parameters still verifies. Tests use cheaper parameters.
"""

from __future__ import annotations

from typing import Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


class SecretHasher(Protocol):
    def hash(self, secret: str) -> str:
        """The encoded hash of ``secret`` (salted: never the same twice)."""
        ...

    def verify(self, encoded: str, secret: str) -> bool:
        """Whether ``secret`` matches ``encoded`` (False for a malformed hash too)."""
        ...


class Argon2Hasher:
    """argon2id hashes (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``)."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4):
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, encoded: str, secret: str) -> bool:
        if not encoded.startswith("$argon2id$"):
            return False
        try:
            return self._hasher.verify(encoded, secret)
        except (VerificationError, InvalidHashError):
            return False
