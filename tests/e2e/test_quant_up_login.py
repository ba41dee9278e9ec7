"""``quant up`` as a person meets it in a browser: the banner says where to log in and
where the first admin's password is; that password logs in at ``/login``; the session
cookie then works on the REST API (the kill switch, with the session's CSRF token and
not without it) until logout."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from e2e_kit import free_port, stretched


def _csrf(page: str, name: str = "csrf_token") -> str:
    match = re.search(rf'name="{name}" (?:value|content)="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def test_the_admin_logs_in_with_the_printed_password_and_trades_with_the_session(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    log = tmp_path / "up.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANT_")}
    env["QUANT_DATA_DIR"] = str(data)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quant.cli", "up", "--port", str(port), "--no-strategy"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + stretched(60.0)
            while "quant-platform is up" not in log.read_text():
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
            banner = log.read_text()
            assert f"  login:  {base}/login   as admin, password in {data / 'admin.password'}" in (
                banner
            )
            password = (data / "admin.password").read_text().strip()
            assert banner.count(password) == 1  # shown once, in the admin notice
            with httpx.Client(base_url=base, timeout=10.0) as browser:
                assert browser.get("/").status_code == 303  # no session: to the login page
                form = {"username": "admin", "password": "not the password"}
                form["csrf_token"] = _csrf(browser.get("/login").text)
                assert browser.post("/login", data=form).status_code == 401
                form = {"username": "admin", "password": password}
                form["csrf_token"] = _csrf(browser.get("/login").text)
                r = browser.post("/login", data=form)
                assert r.status_code == 303, r.text
                home = browser.get("/")
                assert home.status_code == 200 and '<b id="user">admin</b>' in home.text
                token = _csrf(home.text, "csrf-token")
                halt = {"action": "halt"}
                assert browser.post("/api/v1/killswitch", json=halt).status_code == 403
                headers = {"X-CSRF-Token": token}
                while (
                    r := browser.post("/api/v1/killswitch", json=halt, headers=headers)
                ).status_code == 503:
                    assert time.monotonic() < deadline, r.text  # execution still recovering
                    time.sleep(0.3)
                assert r.status_code == 200 and r.json()["account"] == "HALTED", r.text
                r = browser.post("/api/v1/killswitch", json={"action": "resume"}, headers=headers)
                assert r.json()["account"] == "ACTIVE"
                assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
                assert browser.get("/api/v1/me").status_code == 401
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=stretched(20)) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
