"""``quant users add|list|disable|enable|key|passwd``: manage the platform's users.

Works on PostgreSQL when ``QUANT_POSTGRES__DSN`` is set, else on the embedded store of
``quant up`` in ``QUANT_DATA_DIR`` (:mod:`quant.users.settings`). ``add`` and ``key``
print the new API key once, alone on the last line of their output (only its argon2id
hash is stored); ``passwd NAME`` (alias ``password``) sets the password the dashboard's
login checks, read from stdin (on a terminal: without echo, asked twice).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.store.ports import RelationalStore
    from quant.users.directory import UserDirectory
    from quant.users.settings import UsersSettings


def add_parser(subparsers: Any) -> None:
    from quant.users.roles import ROLE_NAMES

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "users",
        help="manage users and API keys (PostgreSQL with QUANT_POSTGRES__DSN, "
        "else the store of `quant up` in QUANT_DATA_DIR)",
    )
    commands = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = commands.add_parser("add", help="add a user; prints its first API key once")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLE_NAMES, default="viewer", help="default viewer")
    add.add_argument(
        "--password-stdin", action="store_true", help="also set a password, read from stdin"
    )
    commands.add_parser("list", help="list users (name, role, status)")
    for action, text in (
        ("disable", "refuse every key of a user from the next request on"),
        ("enable", "accept a disabled user's keys again"),
        ("key", "issue another API key for a user; prints it once"),
    ):
        sub = commands.add_parser(action, help=text)
        sub.add_argument("name")
    passwd = commands.add_parser(
        "passwd",
        aliases=["password"],
        help="set a user's password for the dashboard's login (read from stdin)",
    )
    passwd.add_argument("name")
    parser.set_defaults(func=_run)


def open_store(settings: UsersSettings, *, create: bool) -> RelationalStore:
    """PostgreSQL when configured, else the embedded store (created only if ``create``)."""
    from quant.store.ports import StoreError
    from quant.users.settings import RELATIONAL_FILE

    if settings.postgres is not None:
        from quant.store.postgres import PostgresStore

        return PostgresStore.from_settings(settings.postgres).open(timeout=10.0)
    from quant.store.sqlite_relational import SqliteRelationalStore

    path = settings.data_dir / RELATIONAL_FILE
    if not path.exists():
        if not create:
            raise StoreError(
                f"no users yet: {path} does not exist (start `quant up` once, or set "
                "QUANT_DATA_DIR, or QUANT_POSTGRES__DSN for a cluster)"
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteRelationalStore(path).open()


def _read_password() -> str:
    """The password from stdin: on a terminal without echo and asked twice (a mismatch is a
    :class:`~quant.users.directory.UserError`), else its first line."""
    if sys.stdin.isatty():
        import getpass

        from quant.users.directory import UserError

        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ; nothing changed")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def _act(args: argparse.Namespace, directory: UserDirectory) -> str:
    """Do the action; returns what to print (a new key alone on the last line)."""
    from quant.users.roles import Role

    action = args.users_command
    if action == "add":
        password = _read_password() if args.password_stdin else None
        key = directory.create_user(args.name, Role.parse(args.role), password)
        return (
            f"created user {args.name!r} (role {args.role}). Its API key is shown once "
            "(only a hash is stored); send it as 'Authorization: Bearer <key>':\n"
            f"{key.text}\n"
        )
    if action == "key":
        key = directory.issue_key(args.name)
        return (
            f"new API key of {args.name!r}, shown once (its other keys stay valid):\n{key.text}\n"
        )
    if action in ("passwd", "password"):
        directory.set_password(args.name, _read_password())
        return f"password of {args.name!r} set\n"
    if action in ("disable", "enable"):
        changed = directory.set_disabled(args.name, action == "disable")
        state = "disabled" if action == "disable" else "enabled"
        return f"user {args.name!r} {state}\n" if changed else f"user {args.name!r} was {state}\n"
    users = directory.list_users()
    if not users:
        return "no users\n"
    width = max(len("NAME"), *(len(u.username) for u in users))
    lines = [f"{'NAME':<{width}}  ROLE    STATUS    PASSWORD"]
    for u in users:
        status = "disabled" if u.disabled else "active"
        password = "set" if u.has_password else "-"
        lines.append(f"{u.username:<{width}}  {u.role.label:<6}  {status:<8}  {password}")
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from quant.store.ports import StoreError
    from quant.users.directory import UserDirectory, UserError
    from quant.users.hashing import Argon2Hasher
    from quant.users.settings import UsersSettings

    try:
        settings = UsersSettings()
    except ValidationError as e:
        sys.stderr.write(f"quant users: bad settings: {e}\n")
        return 2
    try:
        store = open_store(settings, create=args.users_command == "add")
    except StoreError as e:
        sys.stderr.write(f"quant users: {e}\n")
        return 1
    try:
        a = settings.argon2
        directory = UserDirectory(store, Argon2Hasher(a.time_cost, a.memory_kib, a.parallelism))
        out = _act(args, directory)
    except (UserError, StoreError) as e:
        sys.stderr.write(f"quant users {args.users_command}: {e}\n")
        return 1
    finally:
        store.close()
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0
