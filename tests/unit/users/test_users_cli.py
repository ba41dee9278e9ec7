"""``quant users`` as a user runs it (a subprocess) on the embedded store of ``quant up``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from users_helpers import CountingHasher

from quant.store.sqlite_relational import SqliteRelationalStore
from quant.users.directory import Caller, UserDirectory
from quant.users.roles import Role

KEY = re.compile(r"qk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def quant_users(
    *args: str, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quant.cli", "users", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANT_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["QUANT_ARGON2__MEMORY_KIB"] = "1024"  # cheap hashes for the test
    env["QUANT_ARGON2__TIME_COST"] = "1"
    env.update(extra)
    return env


def assert_key_printed_once_on_last_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert KEY.fullmatch(lines[-1]), lines[-1]
    key = lines[-1]
    assert (out.stdout + out.stderr).count(key[16:]) == 1  # the secret, once
    return key


def stored_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(QUANT_DATA_DIR=str(tmp_path / "data"))


def test_add_prints_the_key_once_on_the_last_line_and_stores_only_its_hash(
    env: dict[str, str], tmp_path: Path
) -> None:
    key = assert_key_printed_once_on_last_line(
        quant_users("add", "asha", "--role", "trader", env=env)
    )
    data = tmp_path / "data"
    secret = key[16:]
    assert secret.encode() not in stored_bytes(data)  # the database file and its WAL
    store = SqliteRelationalStore(data / "relational.sqlite").open()
    try:
        assert UserDirectory(store, CountingHasher()).verify_key(key) == Caller("asha", Role.TRADER)
    finally:
        store.close()


def test_list_disable_enable_and_key(env: dict[str, str]) -> None:
    first = assert_key_printed_once_on_last_line(
        quant_users("add", "asha", "--role", "admin", env=env)
    )
    assert_key_printed_once_on_last_line(quant_users("add", "ravi", env=env))
    listed = quant_users("list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows == [
        ["NAME", "ROLE", "STATUS", "PASSWORD"],
        ["asha", "admin", "active", "-"],
        ["ravi", "viewer", "active", "-"],
    ]
    assert "qk_" not in listed.stdout
    disabled = quant_users("disable", "ravi", env=env)
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    assert ["ravi", "viewer", "disabled", "-"] in [
        line.split() for line in quant_users("list", env=env).stdout.splitlines()
    ]
    assert quant_users("enable", "ravi", env=env).returncode == 0
    second = assert_key_printed_once_on_last_line(quant_users("key", "asha", env=env))
    assert second != first


def test_password_from_stdin(env: dict[str, str], tmp_path: Path) -> None:
    added = quant_users("add", "asha", "--password-stdin", env=env, stdin="correct horse\n")
    assert_key_printed_once_on_last_line(added)
    assert b"correct horse" not in stored_bytes(tmp_path / "data")
    store = SqliteRelationalStore(tmp_path / "data" / "relational.sqlite").open()
    try:
        directory = UserDirectory(store, CountingHasher())
        assert directory.verify_password("asha", "correct horse") == Caller("asha", Role.VIEWER)
    finally:
        store.close()
    short = quant_users("passwd", "asha", env=env, stdin="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr


def test_passwd_sets_the_login_password_and_password_is_its_alias(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert quant_users("add", "ravi", "--role", "trader", env=env).returncode == 0
    for command, password in (("passwd", "first password"), ("password", "second password")):
        done = quant_users(command, "ravi", env=env, stdin=password + "\n")
        assert done.returncode == 0 and "password of 'ravi' set" in done.stdout
        assert password not in done.stdout + done.stderr
        store = SqliteRelationalStore(tmp_path / "data" / "relational.sqlite").open()
        try:
            directory = UserDirectory(store, CountingHasher())
            assert directory.verify_password("ravi", password) == Caller("ravi", Role.TRADER)
        finally:
            store.close()
    assert "passwd" in quant_users("--help", env=env).stdout
    unknown = quant_users("passwd", "nobody", env=env, stdin="long enough\n")
    assert unknown.returncode == 1 and "no user 'nobody'" in unknown.stderr


def test_mistakes_get_a_message_and_exit_1(env: dict[str, str]) -> None:
    nothing_yet = quant_users("list", env=env)
    assert nothing_yet.returncode == 1 and "quant up" in nothing_yet.stderr
    assert quant_users("add", "asha", env=env).returncode == 0
    again = quant_users("add", "asha", "--role", "admin", env=env)
    assert again.returncode == 1 and "exists already" in again.stderr and "qk_" not in again.stdout
    unknown = quant_users("disable", "nobody", env=env)
    assert unknown.returncode == 1 and "no user 'nobody'" in unknown.stderr
    bad_role = quant_users("add", "ravi", "--role", "root", env=env)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    bad_name = quant_users("add", "a b", env=env)
    assert bad_name.returncode == 1 and "user name" in bad_name.stderr
