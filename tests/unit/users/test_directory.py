"""The user directory over the embedded store: users, keys, passwords, refusals, the cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from users_helpers import CountingHasher

from quant.core.clock import FakeClock
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.users.directory import Caller, Refusal, UserDirectory, UserError, check_role
from quant.users.keys import new_key
from quant.users.roles import Role


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


def _every_stored_value(store: SqliteRelationalStore) -> str:
    """Every row of every table, as text (what a leaked database would show)."""
    conn = store._conn
    assert conn is not None
    return "\n".join(conn.iterdump())


def test_a_new_users_key_verifies_to_its_name_and_role(directory: UserDirectory) -> None:
    key = directory.create_user("asha", Role.TRADER)
    assert directory.verify_key(key.text) == Caller("asha", Role.TRADER)
    assert directory.get("asha") == ("asha", Role.TRADER, False, False)


def test_neither_keys_nor_passwords_are_stored_in_clear(
    directory: UserDirectory, store: SqliteRelationalStore
) -> None:
    key = directory.create_user("asha", Role.TRADER, password="correct horse")
    second = directory.issue_key("asha")
    dump = _every_stored_value(store)
    for secret in (key.secret, second.secret, "correct horse", key.text, second.text):
        assert secret not in dump
    assert key.key_id in dump and second.key_id in dump  # the ids are the lookup
    assert dump.count("$argon2id$") == 3  # the password and two keys, hashed


def test_wrong_unknown_and_malformed_keys_are_refused_with_their_reason(
    directory: UserDirectory,
) -> None:
    key = directory.create_user("asha", Role.VIEWER)
    other = new_key()
    assert directory.verify_key(f"qk_{key.key_id}_{other.secret}") is Refusal.BAD_SECRET
    assert directory.verify_key(other.text) is Refusal.UNKNOWN
    assert directory.verify_key("hunter2") is Refusal.MALFORMED
    assert directory.verify_key(key.text[:-1]) is Refusal.MALFORMED


def test_a_disabled_users_keys_are_refused_from_the_next_request_on(
    directory: UserDirectory,
) -> None:
    key = directory.create_user("asha", Role.ADMIN)
    assert directory.verify_key(key.text) == Caller("asha", Role.ADMIN)  # now cached
    assert directory.set_disabled("asha", True) is True
    assert directory.set_disabled("asha", True) is False
    assert directory.verify_key(key.text) is Refusal.DISABLED
    assert directory.set_disabled("asha", False) is True
    assert directory.verify_key(key.text) == Caller("asha", Role.ADMIN)


def test_every_key_of_a_user_works_and_issuing_needs_the_user(directory: UserDirectory) -> None:
    first = directory.create_user("asha", Role.TRADER)
    second = directory.issue_key("asha")
    assert directory.verify_key(first.text) == directory.verify_key(second.text)
    with pytest.raises(UserError, match="no user 'ravi'"):
        directory.issue_key("ravi")


def test_names_are_unique_and_checked(
    directory: UserDirectory, store: SqliteRelationalStore
) -> None:
    directory.create_user("asha", Role.VIEWER)
    with pytest.raises(UserError, match="exists already"):
        directory.create_user("asha", Role.ADMIN)
    assert directory.get("asha") == ("asha", Role.VIEWER, False, False)
    for bad in ("", "-x", "a b", "x" * 65, "asha\n", "../etc"):
        with pytest.raises(UserError, match="user name"):
            directory.create_user(bad, Role.VIEWER)
    assert [u.username for u in directory.list_users()] == ["asha"]


def test_a_refused_duplicate_writes_no_key(
    directory: UserDirectory, store: SqliteRelationalStore
) -> None:
    directory.create_user("asha", Role.VIEWER)
    with pytest.raises(UserError):
        directory.create_user("asha", Role.ADMIN)
    conn = store._conn
    assert conn is not None
    assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (1,)


def test_users_are_listed_by_name_with_role_status_and_password(directory: UserDirectory) -> None:
    directory.create_user("ravi", Role.VIEWER)
    directory.create_user("asha", Role.ADMIN, password="long enough")
    directory.set_disabled("ravi", True)
    assert directory.list_users() == [
        ("asha", Role.ADMIN, False, True),
        ("ravi", Role.VIEWER, True, False),
    ]


def test_passwords_verify_and_short_ones_are_refused(directory: UserDirectory) -> None:
    directory.create_user("asha", Role.TRADER)
    assert directory.verify_password("asha", "anything at all") is Refusal.BAD_SECRET  # none set
    with pytest.raises(UserError, match="at least 8"):
        directory.set_password("asha", "short")
    directory.set_password("asha", "correct horse")
    assert directory.verify_password("asha", "correct horse") == Caller("asha", Role.TRADER)
    assert directory.verify_password("asha", "correct horsE") is Refusal.BAD_SECRET
    assert directory.verify_password("ravi", "correct horse") is Refusal.UNKNOWN
    directory.set_disabled("asha", True)
    assert directory.verify_password("asha", "correct horse") is Refusal.DISABLED


def test_a_verified_key_skips_argon2_until_its_cache_time_ends(
    directory: UserDirectory, hasher: CountingHasher, clock: FakeClock
) -> None:
    key = directory.create_user("asha", Role.TRADER)
    for _ in range(5):
        assert directory.verify_key(key.text) == Caller("asha", Role.TRADER)
    assert hasher.verifications == 1
    wrong = f"qk_{key.key_id}_{new_key().secret}"  # a cached id does not let a wrong secret in
    assert directory.verify_key(wrong) is Refusal.BAD_SECRET
    assert hasher.verifications == 2
    clock.advance(31.0)
    assert directory.verify_key(key.text) == Caller("asha", Role.TRADER)
    assert hasher.verifications == 3


def test_a_role_change_counts_from_the_next_request(
    directory: UserDirectory, store: SqliteRelationalStore
) -> None:
    key = directory.create_user("asha", Role.ADMIN)
    assert directory.verify_key(key.text) == Caller("asha", Role.ADMIN)
    user = store.get_user("asha")
    assert user is not None
    store.save_user(user._replace(role="viewer"))
    assert directory.verify_key(key.text) == Caller("asha", Role.VIEWER)


def test_role_check() -> None:
    assert check_role(Caller("a", Role.TRADER), Role.VIEWER) is None
    assert check_role(Caller("a", Role.TRADER), Role.TRADER) is None
    assert check_role(Caller("a", Role.TRADER), Role.ADMIN) is Refusal.ROLE


def test_an_unknown_user_costs_a_password_check_too(
    directory: UserDirectory, hasher: CountingHasher
) -> None:
    """The login takes as long for a name that does not exist (no user enumeration)."""
    directory.create_user("asha", Role.TRADER, "correct horse")
    directory.create_user("ravi", Role.VIEWER)  # no password
    for name in ("asha", "nobody", "ravi", "nobody"):
        before = hasher.verifications
        assert isinstance(directory.verify_password(name, "correct horsE"), Refusal)
        assert hasher.verifications == before + 1, name
