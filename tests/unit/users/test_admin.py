"""The first admin of ``quant up``: created once, its key shown once and saved with mode 0600."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from users_helpers import CountingHasher

from quant.store.sqlite_relational import SqliteRelationalStore
from quant.users.admin import admin_notice, ensure_admin
from quant.users.directory import Caller, UserDirectory
from quant.users.roles import Role


@pytest.fixture
def directory() -> Iterator[UserDirectory]:
    store = SqliteRelationalStore(":memory:").open()
    yield UserDirectory(store, CountingHasher())
    store.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_first_start_creates_admin_and_its_key_file(
    directory: UserDirectory, tmp_path: Path
) -> None:
    start = ensure_admin(directory, tmp_path)
    assert start.key is not None and start.path == tmp_path / "admin.key"
    assert _mode(start.path) == 0o600
    assert start.path.read_text() == start.key.text + "\n"
    assert directory.verify_key(start.path.read_text()) == Caller("admin", Role.ADMIN)
    notice = admin_notice(start).splitlines()
    assert notice[-1] == start.key.text  # alone on the last line
    assert sum(start.key.secret in line for line in notice) == 1  # and only there
    assert str(start.path) in notice[0]


def test_later_starts_create_nothing_and_say_where_the_key_is(
    directory: UserDirectory, tmp_path: Path
) -> None:
    first = ensure_admin(directory, tmp_path)
    assert first.key is not None
    again = ensure_admin(directory, tmp_path)
    assert again.key is None
    assert [u.username for u in directory.list_users()] == ["admin"]
    assert first.path.read_text() == first.key.text + "\n"  # not replaced
    text = admin_notice(again)
    assert str(first.path) in text and first.key.secret not in text
    first.path.unlink()
    assert "(missing)" in admin_notice(ensure_admin(directory, tmp_path))


def test_a_stale_readable_key_file_is_replaced_by_a_private_one(
    directory: UserDirectory, tmp_path: Path
) -> None:
    stale = tmp_path / "admin.key"
    stale.write_text("qk_old\n")
    stale.chmod(0o644)
    start = ensure_admin(directory, tmp_path)
    assert start.key is not None
    assert _mode(stale) == 0o600 and stale.read_text() == start.key.text + "\n"


def test_an_unwritable_data_dir_still_shows_the_key_once(
    directory: UserDirectory, tmp_path: Path
) -> None:
    start = ensure_admin(directory, tmp_path / "no-such-dir")
    assert start.key is not None and start.file_error
    lines = admin_notice(start).splitlines()
    assert lines[-1] == start.key.text and "could not be saved" in lines[0]


def test_the_first_admin_gets_a_random_login_password_shown_once_and_saved(
    directory: UserDirectory, tmp_path: Path
) -> None:
    start = ensure_admin(directory, tmp_path)
    assert start.password is not None and len(start.password) >= 16
    path = tmp_path / "admin.password"
    assert start.password_file == path and _mode(path) == 0o600
    assert path.read_text() == start.password + "\n"
    assert directory.verify_password("admin", start.password) == Caller("admin", Role.ADMIN)
    notice = admin_notice(start)
    assert notice.count(start.password) == 1 and "quant users passwd admin" in notice
    assert start.password not in repr(start)
    later = admin_notice(ensure_admin(directory, tmp_path))
    assert str(path) in later and start.password not in later
    assert ensure_admin(directory, tmp_path).password is None


def test_an_admin_without_a_password_is_told_how_to_set_one(
    directory: UserDirectory, tmp_path: Path
) -> None:
    directory.create_user("admin", Role.ADMIN)  # made before logins existed
    start = ensure_admin(directory, tmp_path)
    assert not start.has_password
    assert "no password" in admin_notice(start)
    assert "`quant users passwd admin`" in admin_notice(start)
