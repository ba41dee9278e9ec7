"""Users for API tests: a fast argon2id hasher and an in-memory user directory.

The hasher's costs are the lowest argon2 accepts, so creating and checking a key takes
microseconds; production costs are in ``quant.users.hashing``. Imported by bare module
name (``from users_kit import ...``), like the other shared test kits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from quant.store.ports import RelationalStore
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher
from quant.users.roles import Role


def fast_hasher() -> Argon2Hasher:
    return Argon2Hasher(time_cost=1, memory_kib=1024, parallelism=1)


def directory_on(store: RelationalStore) -> UserDirectory:
    """A user directory over ``store`` with the fast hasher."""
    return UserDirectory(store, fast_hasher())


@contextmanager
def memory_directory() -> Iterator[UserDirectory]:
    """A user directory over a fresh in-memory SQLite store, closed afterwards."""
    store = SqliteRelationalStore(":memory:").open()
    try:
        yield directory_on(store)
    finally:
        store.close()


def viewer_and_trader_keys(directory: UserDirectory) -> dict[str, str]:
    """Keys of a new viewer ``vera`` and trader ``tara``, by role name."""
    return {
        "viewer": directory.create_user("vera", Role.VIEWER).text,
        "trader": directory.create_user("tara", Role.TRADER).text,
    }
