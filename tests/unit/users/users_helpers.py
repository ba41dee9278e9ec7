"""Test helpers of the users tests: real argon2id with cheap parameters, counted."""

from __future__ import annotations

from quant.users.hashing import Argon2Hasher


class CountingHasher(Argon2Hasher):
    """argon2id (cheap parameters) that counts its verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_kib=1024, parallelism=1)
        self.verifications = 0

    def verify(self, encoded: str, secret: str) -> bool:
        self.verifications += 1
        return super().verify(encoded, secret)
