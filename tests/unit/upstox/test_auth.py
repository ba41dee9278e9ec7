"""Token expiry, the OAuth exchange, the token-request flow and the token stores."""

from __future__ import annotations

import base64
import json
import stat
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.upstox.auth import (
    AccessToken,
    FileTokenStore,
    StoredTokenSource,
    authorization_url,
    exchange_code,
    jwt_exp_ns,
    next_expiry_ns,
    parse_token_webhook,
    request_token,
    token_expiry_ns,
)
from quant.upstox.errors import UpstoxAuthError, UpstoxDecodeError, UpstoxValidationError
from quant.upstox.k8s_secret import KubernetesSecretTokenStore


def ist(*args: int) -> int:
    return datetime_to_ns(datetime(*args, tzinfo=IST))  # type: ignore[misc]


def jwt(claims: dict[str, object]) -> str:
    def part(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.sig"


def test_expiry_is_the_next_0330_ist() -> None:
    assert next_expiry_ns(ist(2026, 11, 24, 20, 0)) == ist(2026, 11, 25, 3, 30)
    assert next_expiry_ns(ist(2026, 11, 25, 2, 30)) == ist(2026, 11, 25, 3, 30)
    assert next_expiry_ns(ist(2026, 11, 25, 3, 30)) == ist(2026, 11, 26, 3, 30)


def test_jwt_exp_wins_when_present() -> None:
    token = jwt({"sub": "ABC123", "iss": "udapi-gateway-service", "exp": 1789250400})
    assert jwt_exp_ns(token) == 1789250400 * 10**9
    assert token_expiry_ns(token, 0) == 1789250400 * 10**9
    assert jwt_exp_ns("not-a-jwt") is None
    assert jwt_exp_ns("a.!!!.c") is None
    assert token_expiry_ns("opaque", ist(2026, 11, 24, 9, 0)) == ist(2026, 11, 25, 3, 30)


def test_authorization_url() -> None:
    url = authorization_url("https://api.test/", "key1", "http://127.0.0.1:8765/callback", "s1")
    assert url == (
        "https://api.test/v2/login/authorization/dialog?response_type=code&client_id=key1"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&state=s1"
    )


async def test_code_exchange_posts_the_form_and_parses_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if b"code=bad" in request.content:
            return httpx.Response(400, json={"status": "error", "errors": [
                {"error_code": "UDAPI100057", "message": "Invalid Auth code"}]})  # fmt: skip
        return httpx.Response(
            200, json={"email": "a@b", "user_id": "AB1234", "access_token": "zq-secret-9"}
        )

    clock = FakeClock(ist(2026, 11, 24, 8, 0))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        token = await exchange_code(
            http, "https://api.test", code="mk404x", client_id="key1",
            client_secret=SecretStr("s3cret"), redirect_uri="http://r", clock=clock,
        )  # fmt: skip
        with pytest.raises(UpstoxValidationError, match="Invalid Auth code"):
            await exchange_code(
                http, "https://api.test", code="bad", client_id="key1",
                client_secret=SecretStr("s3cret"), redirect_uri="http://r", clock=clock,
            )  # fmt: skip
    form = dict(x.split("=") for x in seen[0].content.decode().split("&"))
    assert form["grant_type"] == "authorization_code" and form["code"] == "mk404x"
    assert seen[0].url.path == "/v2/login/authorization/token"
    assert token.user_id == "AB1234" and token.expires_at_ns == ist(2026, 11, 25, 3, 30)
    assert "zq-secret-9" not in repr(token) and "zq-secret-9" not in token.describe()
    assert token.token.get_secret_value() == "zq-secret-9"


async def test_token_request_flow_and_webhook() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v3/login/auth/token/request/key1"
        assert json.loads(request.content) == {"client_secret": "s3cret"}
        return httpx.Response(200, json={"status": "success", "data": {
            "authorization_expiry": "1732226400000", "notifier_url": "https://hook"}})  # fmt: skip

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        ack = await request_token(
            http, "https://api.test", client_id="key1", client_secret=SecretStr("s3cret")
        )
    assert ack.authorization_expiry_ns == 1732226400000 * 10**6
    body = {"client_id": "key1", "user_id": "AB1234", "access_token": "tok2",
            "token_type": "Bearer", "expires_at": "1732226400000", "issued_at": "1732150000000",
            "message_type": "access_token"}  # fmt: skip
    token = parse_token_webhook(json.dumps(body).encode(), "key1", 0)
    assert token.token.get_secret_value() == "tok2" and token.source == "token_request"
    assert token.expires_at_ns == 1732226400000 * 10**6
    with pytest.raises(UpstoxAuthError, match="another client_id"):
        parse_token_webhook(json.dumps(body).encode(), "other", 0)
    with pytest.raises(UpstoxDecodeError, match="message_type"):
        parse_token_webhook(json.dumps({**body, "message_type": "x"}).encode(), "key1", 0)


def test_file_store_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "token.json"
    store = FileTokenStore(path)
    assert store.load() is None
    # ns timestamps beyond 2**53 must survive the JSON round trip exactly
    token = AccessToken(SecretStr("tok"), 1795557600000000007, 1795487284296726807, "AB1234")
    store.save(token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.load() == token


def test_file_store_reads_a_bare_token_as_a_mounted_secret_key_holds_it(tmp_path: Path) -> None:
    # A Kubernetes Secret key mounted as a file holds only the token (no JSON, maybe a newline).
    exp_ns = datetime_to_ns(datetime(2026, 11, 25, 3, 30, tzinfo=IST))
    bare_jwt = jwt({"sub": "AB1234", "exp": exp_ns // 1_000_000_000})
    path = tmp_path / "access_token"
    path.write_text(bare_jwt + "\n")
    loaded = FileTokenStore(path).load()
    assert loaded is not None
    assert loaded.token.get_secret_value() == bare_jwt
    assert loaded.expires_at_ns == exp_ns

    # not a JWT: expires at the first 03:30 IST after the file was written
    path.write_text("opaque-token")
    written = path.stat().st_mtime_ns
    loaded = FileTokenStore(path).load()
    assert loaded is not None and loaded.expires_at_ns == next_expiry_ns(written)

    path.write_text("two words")
    with pytest.raises(UpstoxDecodeError, match="bare token"):
        FileTokenStore(path).load()


def test_stored_token_source_refuses_missing_and_expired_tokens(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    clock = FakeClock(150)
    source = StoredTokenSource(store, clock)
    with pytest.raises(UpstoxAuthError, match="quant auth login"):
        source()
    store.save(AccessToken(SecretStr("tok"), 200, 100, "AB1234"))
    assert source() == "tok"
    clock.set_ns(200)
    with pytest.raises(UpstoxAuthError, match="expired"):
        source()
    store.save(AccessToken(SecretStr("tok2"), 900, 190, "AB1234"))
    assert source() == "tok2"  # rotated token picked up


def test_kubernetes_secret_store_writes_and_reads(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token")
    secrets: dict[str, dict[str, object]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer sa-token"
        path = request.url.path
        base = "/api/v1/namespaces/quant/secrets"
        if request.method == "GET":
            name = path.rsplit("/", 1)[1]
            return (
                httpx.Response(200, json=secrets[name]) if name in secrets else httpx.Response(404)
            )
        doc = json.loads(request.content)
        name = doc["metadata"]["name"]
        if request.method == "PUT" and name not in secrets:
            return httpx.Response(404)
        assert path in (base, f"{base}/{name}")
        secrets[name] = doc
        return httpx.Response(201 if request.method == "POST" else 200, json=doc)

    store = KubernetesSecretTokenStore(
        "quant", "upstox-token", api_server="https://k8s.test", sa_dir=tmp_path,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    assert store.load() is None
    # ns timestamps beyond 2**53 must survive the JSON round trip exactly
    token = AccessToken(SecretStr("tok"), 1795557600000000007, 1795487284296726807, "AB1234")
    store.save(token)
    store.save(token)  # second save updates in place
    assert base64.b64decode(secrets["upstox-token"]["data"]["access_token"]) == b"tok"  # type: ignore[index]
    assert store.load() == token
