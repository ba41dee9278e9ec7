"""A user directory on the embedded store, with real but cheap argon2id hashes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from users_helpers import CountingHasher

from quant.core.clock import FakeClock
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.users.directory import UserDirectory


@pytest.fixture
def store() -> Iterator[SqliteRelationalStore]:
    s = SqliteRelationalStore(":memory:").open()
    yield s
    s.close()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_000_000_000_000)


@pytest.fixture
def directory(
    store: SqliteRelationalStore, hasher: CountingHasher, clock: FakeClock
) -> UserDirectory:
    return UserDirectory(store, hasher, clock=clock, cache_s=30.0)
