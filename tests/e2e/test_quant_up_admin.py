"""``quant up``'s first admin, as a user meets it: one key, shown once, kept in admin.key.

Starts ``quant up`` twice on one data directory. The first start prints the new admin key
once (alone on its line) and writes it to ``admin.key`` with mode 0600; the key works on
``/api/v1/me``, a key from ``quant users add`` (same data directory, while ``quant up``
runs) works too until ``quant users disable``. The second start creates no user and prints
no key, only where the file is, and the first key still works. No key is stored in clear.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from e2e_kit import free_port, stretched

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = re.compile(r"qk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _me(http: httpx.Client, key: str | None) -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return http.get("/api/v1/me", headers=headers)


def _run_up(data: Path, log: Path, check: object) -> str:
    """Start ``quant up``, wait until ``/api/v1/me`` answers, run ``check(http)``, stop it;
    returns its output."""
    port = free_port()
    env = {**os.environ, "QUANT_DATA_DIR": str(data)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quant.cli", "up", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        started = time.monotonic()
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as http:
                while True:
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() - started < stretched(30.0), log.read_text()
                    try:
                        if _me(http, None).status_code == 401:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.3)
                check(http)  # type: ignore[operator]
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return log.read_text()


def _users(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANT_")}
    return subprocess.run(
        [sys.executable, "-m", "quant.cli", "users", *args],
        env={**env, "QUANT_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_first_start_makes_one_admin_key_and_later_starts_reuse_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key_file = data / "admin.key"
    seen: dict[str, str] = {}

    def first(http: httpx.Client) -> None:
        admin = key_file.read_text().strip()
        seen["admin"] = admin
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        me = _me(http, admin)
        assert me.status_code == 200 and me.json() == {"user": "admin", "role": "admin"}
        added = _users(data, "add", "asha", "--role", "trader")
        assert added.returncode == 0, added.stderr
        trader = added.stdout.splitlines()[-1]
        seen["trader"] = trader
        assert _me(http, trader).json() == {"user": "asha", "role": "trader"}
        assert _users(data, "disable", "asha").returncode == 0
        assert _me(http, trader).status_code == 403
        assert _me(http, admin[:-1] + ("A" if admin[-1] != "A" else "B")).status_code == 401
        metrics = http.get("/metrics").text
        assert 'gateway_auth_failures_total{reason="disabled"} 1.0' in metrics

    out1 = _run_up(data, tmp_path / "up1.log", first)
    admin = seen["admin"]
    lines = out1.splitlines()
    assert admin in lines  # alone on its line
    assert out1.count(admin[16:]) == 1  # shown once
    assert str(key_file) in out1

    def second(http: httpx.Client) -> None:
        assert _me(http, admin).json() == {"user": "admin", "role": "admin"}

    out2 = _run_up(data, tmp_path / "up2.log", second)
    assert not KEY.search(out2), out2
    assert f"admin API key: {key_file}" in out2
    assert key_file.read_text().strip() == admin
    listed = _users(data, "list").stdout.split()
    assert listed.count("admin") == 2 and "asha" in listed  # one admin user (name, role)
    stored = b"".join(p.read_bytes() for p in data.glob("relational.sqlite*"))
    for key in (admin, seen["trader"]):
        assert key[16:].encode() not in stored
