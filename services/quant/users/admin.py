"""The first ``admin`` of ``quant up``: made once, its key shown once and kept in a file.

:func:`ensure_admin` creates the user ``admin`` (role admin) when the store has none,
writes its key to ``<data dir>/admin.key`` (mode 0600, replacing a stale file) and returns
it; on later starts it creates nothing and says where the file is.
:func:`admin_notice` is what ``quant up`` prints: the key, when new, alone on the last line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from quant.users.directory import UserDirectory, UserError
from quant.users.keys import ApiKey
from quant.users.roles import Role
from quant.users.settings import ADMIN_KEY_FILE

ADMIN = "admin"


class AdminStart(NamedTuple):
    key: ApiKey | None  # set when the admin was created now
    path: Path  # the key file
    file_error: str = ""  # why the key file could not be written (the key is shown anyway)


def write_key_file(path: Path, key: ApiKey) -> None:
    """Write ``key`` to ``path`` readable by its owner only (mode 0600 from the start)."""
    path.unlink(missing_ok=True)  # a stale file keeps its old mode under O_CREAT
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (key.text + "\n").encode())
    finally:
        os.close(fd)


def ensure_admin(directory: UserDirectory, data_dir: Path) -> AdminStart:
    """Create ``admin`` and its key file unless the user exists (see the module docstring)."""
    path = data_dir / ADMIN_KEY_FILE
    if directory.get(ADMIN) is not None:
        return AdminStart(None, path)
    try:
        key = directory.create_user(ADMIN, Role.ADMIN)
    except UserError:  # another start made it a moment ago
        return AdminStart(None, path)
    try:
        write_key_file(path, key)
    except OSError as e:
        return AdminStart(key, path, f"{type(e).__name__}: {e.strerror or e}")
    return AdminStart(key, path)


def admin_notice(start: AdminStart) -> str:
    """The lines ``quant up`` prints about the admin key (the new key alone on the last)."""
    if start.key is None:
        where = str(start.path) if start.path.exists() else f"{start.path} (missing)"
        return (
            f"admin API key: {where}; `quant users key admin` makes a new one, "
            "`quant users add NAME --role trader` adds users\n"
        )
    saved = (
        f"could not be saved to {start.path} ({start.file_error}): copy it now"
        if start.file_error
        else f"also saved to {start.path} (mode 0600)"
    )
    return (
        f"created the user 'admin' (role admin); its API key is shown once, {saved}. "
        "Send it as 'Authorization: Bearer <key>':\n"
        f"{start.key.text}\n"
    )
