"""The login page: the password checked with argon2id, a fresh server-side session in an
HttpOnly, SameSite=Strict (Secure under TLS) cookie, no session fixation, the lockout after
repeated failures, logout, and pages that redirect to /login without a session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from login_kit import PASSWORD, add_users, csrf_of, form_token, gateway_client, login
from quant.core.clock import FakeClock
from quant.gateway.settings import LoginSettings
from quant.users.directory import UserDirectory
from users_kit import memory_directory

T0 = 1_765_000_000 * 1_000_000_000


@pytest.fixture
def directory() -> Iterator[UserDirectory]:
    with memory_directory() as users:
        add_users(users)
        yield users


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def client(directory: UserDirectory, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(directory, clock) as c:
        yield c


def _set_cookie(response: httpx.Response, name: str) -> str:
    lines = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert len(lines) == 1, response.headers.get_list("set-cookie")
    return lines[0]


async def test_a_right_password_logs_in_and_the_home_page_says_who(
    client: httpx.AsyncClient,
) -> None:
    r = await login(client, "tara")
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert '<b id="user">tara</b>' in home.text and "trader" in home.text
    assert home.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert (await client.get("/login")).status_code == 303  # logged in: on to the home page
    me = await client.get("/api/v1/me")
    assert me.json() == {"user": "tara", "role": "trader"}


async def test_a_wrong_password_or_unknown_user_is_refused_alike(
    client: httpx.AsyncClient,
) -> None:
    for name, password in (("tara", "not the password"), ("nobody", PASSWORD), ("", "")):
        r = await login(client, name, password)
        assert r.status_code == 401, name
        assert "wrong user name or password" in r.text
        assert "quant_session" not in client.cookies
        assert (await client.get("/")).status_code == 303


async def test_a_disabled_user_cannot_log_in(
    client: httpx.AsyncClient, directory: UserDirectory
) -> None:
    directory.set_disabled("tara", True)
    r = await login(client, "tara")
    assert r.status_code == 403 and "disabled" in r.text


async def test_the_login_form_needs_its_token(client: httpx.AsyncClient) -> None:
    """A form posted from elsewhere has no token cookie: refused before the password."""
    r = await client.post("/login", data={"username": "tara", "password": PASSWORD})
    assert r.status_code == 403
    page = await client.get("/login")
    data = {"username": "tara", "password": PASSWORD, "csrf_token": "forged"}
    assert form_token(page.text) != "forged"
    assert (await client.post("/login", data=data)).status_code == 403
    assert "quant_session" not in client.cookies


async def test_cookie_flags_over_plain_http(client: httpx.AsyncClient) -> None:
    r = await login(client, "tara")
    cookie = _set_cookie(r, "quant_session").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie


async def test_cookie_is_secure_under_tls(directory: UserDirectory, clock: FakeClock) -> None:
    async with gateway_client(directory, clock, base_url="https://gateway") as client:
        assert "secure" in _set_cookie(await client.get("/login"), "quant_login_csrf").lower()
        r = await login(client, "tara")
        assert r.status_code == 303
        cookie = _set_cookie(r, "quant_session").lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert (await client.get("/api/v1/me")).json()["user"] == "tara"


async def test_a_setting_makes_the_cookie_secure(
    directory: UserDirectory, clock: FakeClock
) -> None:
    settings = LoginSettings(secure_cookie=True)
    async with gateway_client(directory, clock, login=settings) as client:
        page = await client.get("/login")
        data = {"username": "tara", "password": PASSWORD, "csrf_token": form_token(page.text)}
        client.cookies.set("quant_login_csrf", data["csrf_token"], path="/login")
        r = await client.post("/login", data=data)
        assert r.status_code == 303
        assert "secure" in _set_cookie(r, "quant_session").lower()


def _only_session(client: httpx.AsyncClient, session_id: str) -> None:
    """The browser's cookie jar holds just this session id (as another tab might)."""
    client.cookies.clear()
    client.cookies.set("quant_session", session_id, domain="gateway.local", path="/")


async def _form_with_session(client: httpx.AsyncClient, session_id: str) -> dict[str, str]:
    """A fresh login form's fields, with ``session_id`` in the jar when it is posted."""
    client.cookies.clear()
    page = await client.get("/login")
    client.cookies.set("quant_session", session_id, domain="gateway.local", path="/")
    return {"password": PASSWORD, "csrf_token": form_token(page.text)}


async def test_a_login_makes_a_new_session_id(client: httpx.AsyncClient) -> None:
    """No fixation: a session id planted before the login is not the one after it."""
    data = await _form_with_session(client, "planted-by-an-attacker")
    r = await client.post("/login", data=data | {"username": "tara"})
    assert r.status_code == 303
    new = client.cookies["quant_session"]
    assert new != "planted-by-an-attacker"
    _only_session(client, "planted-by-an-attacker")
    assert (await client.get("/")).status_code == 303
    _only_session(client, new)
    assert (await client.get("/api/v1/me")).json()["user"] == "tara"


async def test_logging_in_again_makes_a_new_id_and_ends_the_old_session(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "tara")
    old = client.cookies["quant_session"]
    data = await _form_with_session(client, old)
    r = await client.post("/login", data=data | {"username": "ada"})
    assert r.status_code == 303
    new = client.cookies["quant_session"]
    assert new != old
    _only_session(client, old)
    assert (await client.get("/")).status_code == 303  # the old id is gone
    assert (await client.get("/api/v1/me")).status_code == 401
    _only_session(client, new)
    assert (await client.get("/api/v1/me")).json()["user"] == "ada"


async def test_lockout_after_repeated_failures_per_user(
    directory: UserDirectory, clock: FakeClock
) -> None:
    settings = LoginSettings(max_failures=3, window_s=600)
    async with gateway_client(directory, clock, login=settings) as client:
        for _ in range(3):
            assert (await login(client, "tara", "wrong password")).status_code == 401
        r = await login(client, "tara")  # the right password, but locked out
        assert r.status_code == 429
        assert "too many failed logins" in r.text and "10 minutes" in r.text
        assert int(r.headers["retry-after"]) == 600
        app = client._transport.app  # type: ignore[attr-defined]
        metrics = app.state.login_metrics
        assert metrics.failures.labels(reason="bad_credentials")._value.get() == 3
        assert metrics.failures.labels(reason="locked_out")._value.get() == 1
        assert metrics.lockouts._value.get() == 1
    # from another address the name is locked out too
    async with gateway_client(directory, clock, login=settings) as other:
        for _ in range(3):
            await login(other, "tara", "wrong password")
        clock.advance(599)
        assert (await login(other, "tara")).status_code == 429
        clock.advance(1)
        assert (await login(other, "tara")).status_code == 303  # the window has passed


async def test_lockout_per_client_address(directory: UserDirectory, clock: FakeClock) -> None:
    """One address guessing many names is locked out, for every name."""
    settings = LoginSettings(max_failures=3, window_s=600)
    async with gateway_client(directory, clock, login=settings) as client:
        for name in ("vera", "tara", "ada"):
            assert (await login(client, name, "wrong password")).status_code == 401
        assert (await login(client, "vera")).status_code == 429
        app = client._transport.app  # type: ignore[attr-defined]
    # another address is not affected
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("10.0.0.2", 40000)),
        base_url="http://gateway",
    )
    async with other:
        assert (await login(other, "vera")).status_code == 303


async def test_logout_ends_the_session_and_needs_its_token(client: httpx.AsyncClient) -> None:
    await login(client, "tara")
    session = client.cookies["quant_session"]
    assert (await client.post("/logout", data={})).status_code == 403
    assert (await client.post("/logout", data={"csrf_token": "forged"})).status_code == 403
    assert (await client.get("/")).status_code == 200  # still logged in
    token = await csrf_of(client)
    r = await client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "quant_session" not in client.cookies
    client.cookies.set("quant_session", session)  # the old id is dead on the server
    assert (await client.get("/")).status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_page_without_a_session_redirects_to_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = await client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert 'href="/static/css/app.css"' in page.text
    css = await client.get("/static/css/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_a_session_expires_when_idle(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await login(client, "tara")
    clock.advance(LoginSettings().idle_s - 1)
    assert (await client.get("/")).status_code == 200  # and that restarts the idle time
    clock.advance(LoginSettings().idle_s - 1)
    assert (await client.get("/")).status_code == 200
    clock.advance(LoginSettings().idle_s)
    assert (await client.get("/")).status_code == 303


async def test_without_a_user_store_login_answers_503(clock: FakeClock) -> None:
    async with gateway_client(None, clock) as client:
        r = await login(client, "tara")
        assert r.status_code == 503 and "no user store" in r.text


async def test_pages_use_only_local_assets_and_honour_a_proxy_root_path(
    directory: UserDirectory, clock: FakeClock
) -> None:
    async with gateway_client(directory, clock) as client:
        app = client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, root_path="/gw")
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/login")
        assert "http" not in page.text  # no CDN, no absolute URL
        assert 'href="/gw/static/css/app.css"' in page.text
        assert 'action="/gw/login"' in page.text
        assert "path=/gw/login" in page.headers["set-cookie"].lower()
        token = form_token(page.text)
        # the proxy strips /gw: the transport here does not, so send the cookie as a browser
        # at /gw/login would
        client.cookies.clear()
        client.cookies.set("quant_login_csrf", token, domain="gateway.local", path="/")
        data = {"username": "tara", "password": PASSWORD, "csrf_token": token}
        r = await client.post("/login", data=data)
        assert r.status_code == 303 and r.headers["location"] == "/gw/"
        assert "path=/gw/" in _set_cookie(r, "quant_session").lower()


def test_templates_and_styles_ship_in_the_package() -> None:
    root = Path(__file__).resolve().parents[3]
    gateway = root / "services/quant/gateway"
    for name in ("templates/login.html", "templates/home.html", "static/css/app.css"):
        assert (gateway / name).is_file(), name
    pyproject = (root / "pyproject.toml").read_text()
    assert '"templates/*"' in pyproject and '"static/**/*"' in pyproject
