"""The first ``admin`` of ``quant up``: made once, its key and password shown once and kept
in files.

:func:`ensure_admin` creates the user ``admin`` (role admin) when the store has none, with
a random initial password for the dashboard's login; writes its key to
``<data dir>/admin.key`` and the password to ``<data dir>/admin.password`` (both mode
0600, replacing stale files) and returns them; on later starts it creates nothing and
says where the files are (``quant users passwd admin`` changes the password, and sets one
for an admin made before logins existed). :func:`admin_notice` is what ``quant up``
prints: the password when new, and the key, when new, alone on the last line.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import NamedTuple

from quant.users.directory import UserDirectory, UserError
from quant.users.keys import ApiKey
from quant.users.roles import Role
from quant.users.settings import ADMIN_KEY_FILE, ADMIN_PASSWORD_FILE

ADMIN = "admin"
PASSWORD_BYTES = 12  # 16 URL-safe characters, 96 random bits


class AdminStart(NamedTuple):
    key: ApiKey | None  # set when the admin was created now
    path: Path  # the key file
    file_error: str = ""  # why the key file could not be written (the key is shown anyway)
    password: str | None = None  # the initial password, set when the admin was created now
    password_path: Path | None = None  # the password file (None: the key file's directory)
    has_password: bool = True  # False: an admin from before logins, without a password

    @property
    def password_file(self) -> Path:
        return self.password_path or self.path.parent / ADMIN_PASSWORD_FILE

    def __repr__(self) -> str:  # never show the password in a traceback or log
        return f"AdminStart(key={self.key!r}, path={str(self.path)!r}, password=<hidden>)"


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600 from the start)."""
    path.unlink(missing_ok=True)  # a stale file keeps its old mode under O_CREAT
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


def write_key_file(path: Path, key: ApiKey) -> None:
    """Write ``key`` to ``path`` readable by its owner only (mode 0600 from the start)."""
    write_secret_file(path, key.text)


def ensure_admin(directory: UserDirectory, data_dir: Path) -> AdminStart:
    """Create ``admin`` and its key file unless the user exists (see the module docstring)."""
    path = data_dir / ADMIN_KEY_FILE
    password_path = data_dir / ADMIN_PASSWORD_FILE
    existing = directory.get(ADMIN)
    if existing is not None:
        return AdminStart(
            None, path, password_path=password_path, has_password=existing.has_password
        )
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    try:
        key = directory.create_user(ADMIN, Role.ADMIN, password)
    except UserError:  # another start made it a moment ago
        return AdminStart(None, path, password_path=password_path)
    errors = []
    for file, text in ((path, key.text), (password_path, password)):
        try:
            write_secret_file(file, text)
        except OSError as e:
            errors.append(f"{file.name}: {type(e).__name__}: {e.strerror or e}")
    return AdminStart(key, path, "; ".join(errors), password, password_path)


def admin_notice(start: AdminStart) -> str:
    """The lines ``quant up`` prints about the admin's key and password (a new key alone
    on the last line)."""
    if start.key is None:
        where = str(start.path) if start.path.exists() else f"{start.path} (missing)"
        return (
            f"admin API key: {where}; `quant users key admin` makes a new one, "
            "`quant users add NAME --role trader` adds users\n" + _login_notice(start)
        )
    saved = (
        f"could not be saved ({start.file_error}): copy them now"
        if start.file_error
        else f"also saved to {start.path} (mode 0600)"
    )
    password = (
        f"dashboard login: user 'admin', password {start.password} (shown once, also in "
        f"{start.password_file}; change it with `quant users passwd admin`)\n"
        if start.password
        else ""
    )
    return (
        f"created the user 'admin' (role admin); its API key is shown once, {saved}.\n"
        f"{password}"
        "Send the key as 'Authorization: Bearer <key>':\n"
        f"{start.key.text}\n"
    )


def _login_notice(start: AdminStart) -> str:
    if not start.has_password:
        return (
            "admin has no password for the dashboard's login yet: set one with "
            "`quant users passwd admin`\n"
        )
    if start.password_file.exists():
        return (
            f"admin's initial dashboard password: {start.password_file} (unless changed "
            "with `quant users passwd admin`)\n"
        )
    return "admin's dashboard password: set with `quant users passwd admin`\n"
