"""Upstox access tokens: OAuth code exchange, the token-request flow, expiry, and storage.

Used by the ``quant auth`` service (:mod:`quant.auth`), by services that need the token
(:class:`StoredTokenSource` feeds the REST and feed clients) and by doctor/operator to
read the expiry. An Upstox access token dies at 03:30 IST after it was issued
(UPSTOX.md §1.3); :func:`token_expiry_ns` reads the JWT ``exp`` claim when present and
otherwise computes that instant. Tokens are kept in :class:`pydantic.SecretStr` and are
never logged. Storage is a small port (:class:`TokenStore`) with a 0600 file
implementation here and a Kubernetes Secret one in :mod:`quant.upstox.k8s_secret`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from quant.core.clock import IST, NS_PER_MS, Clock, datetime_to_ns, ns_to_datetime
from quant.upstox import constants as c
from quant.upstox.errors import UpstoxAuthError, UpstoxDecodeError, error_for_response
from quant.upstox.rest_parsing import Obj, success_data

EXPIRY_TIME_IST = time(3, 30)


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A token with what we know about it (the secret itself is never printed)."""

    token: SecretStr
    expires_at_ns: int
    issued_at_ns: int
    user_id: str = ""
    source: str = "oauth"

    def is_expired(self, now_ns: int) -> bool:
        return now_ns >= self.expires_at_ns

    def describe(self) -> str:
        """A loggable summary: who, when issued, when it expires (IST)."""
        exp = ns_to_datetime(self.expires_at_ns, IST).isoformat(timespec="minutes")
        return f"Upstox token for {self.user_id or 'unknown user'} via {self.source}, expires {exp}"


def next_expiry_ns(issued_ns: int) -> int:
    """03:30 IST on or after ``issued_ns`` (a token made 02:30 dies at 03:30 the same day)."""
    issued = ns_to_datetime(issued_ns, IST)
    expiry = datetime.combine(issued.date(), EXPIRY_TIME_IST, tzinfo=IST)
    if expiry <= issued:
        expiry += timedelta(days=1)
    return datetime_to_ns(expiry)


def jwt_exp_ns(token: str) -> int | None:
    """The ``exp`` claim of a JWT in UTC ns, or None if the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp > 0:
        return int(exp) * 1_000_000_000
    return None


def token_expiry_ns(token: str, issued_ns: int) -> int:
    """When ``token`` expires: its JWT ``exp`` if present, else the next 03:30 IST."""
    return jwt_exp_ns(token) or next_expiry_ns(issued_ns)


# -- OAuth code flow -------------------------------------------------------------------------


def authorization_url(api_base: str, client_id: str, redirect_uri: str, state: str) -> str:
    """The login dialog a person opens in a browser (UPSTOX.md §1.1)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{api_base.rstrip('/')}{c.AUTH_DIALOG_PATH}?{query}"


def parse_token_response(body: bytes, issued_ns: int) -> AccessToken:
    """The token exchange answer (top-level fields; a ``data`` wrapper is tolerated)."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise UpstoxDecodeError("token exchange: response is not JSON") from e
    root = Obj(doc, "token response")
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict) and "access_token" not in doc:
        root = Obj(success_data(body, "token response"), "data")
    token = root.text("access_token")
    if not token:
        raise UpstoxDecodeError("token exchange: empty access_token")
    return AccessToken(
        SecretStr(token), token_expiry_ns(token, issued_ns), issued_ns, root.text("user_id", "")
    )


async def exchange_code(
    http: httpx.AsyncClient,
    api_base: str,
    *,
    code: str,
    client_id: str,
    client_secret: SecretStr,
    redirect_uri: str,
    clock: Clock,
) -> AccessToken:
    """POST the single-use ``code`` to the token endpoint (never retried: the code is spent)."""
    form = {
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret.get_secret_value(),
        "redirect_uri": redirect_uri,
        "grant_type": "authorization_code",
    }
    response = await http.post(
        api_base.rstrip("/") + c.TOKEN_PATH, data=form, headers={"Accept": "application/json"}
    )
    if response.status_code >= 300:
        raise error_for_response(response.status_code, response.content, "token exchange")
    return parse_token_response(response.content, clock.now_ns())


# -- token-request flow (approval in the Upstox app, token delivered to a webhook) -------------


@dataclass(frozen=True, slots=True)
class TokenRequestAck:
    authorization_expiry_ns: int
    notifier_url: str


async def request_token(
    http: httpx.AsyncClient, api_base: str, *, client_id: str, client_secret: SecretStr
) -> TokenRequestAck:
    """Start the token-request flow; the token later arrives at the app's notifier webhook."""
    url = api_base.rstrip("/") + c.TOKEN_REQUEST_PATH.format(client_id=client_id)
    response = await http.post(
        url,
        json={"client_secret": client_secret.get_secret_value()},
        headers={"Accept": "application/json"},
    )
    if response.status_code >= 300:
        raise error_for_response(response.status_code, response.content, "token request")
    data = Obj(success_data(response.content, "token request"), "data")
    raw_expiry = data.text("authorization_expiry", "0")
    try:
        expiry_ns = int(raw_expiry) * NS_PER_MS
    except ValueError as e:
        raise UpstoxDecodeError(f"token request: bad authorization_expiry {raw_expiry!r}") from e
    return TokenRequestAck(expiry_ns, data.text("notifier_url", ""))


def parse_token_webhook(body: bytes, client_id: str, now_ns: int) -> AccessToken:
    """The notifier webhook's payload → token; refuses another app's or a non-token message."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise UpstoxDecodeError("token webhook: body is not JSON") from e
    ob = Obj(doc, "token webhook")
    if ob.text("message_type", "") != "access_token":
        raise UpstoxDecodeError("token webhook: message_type is not access_token")
    if ob.text("client_id", "") != client_id:
        raise UpstoxAuthError("token webhook: payload is for another client_id")
    token = ob.text("access_token")

    def ms(key: str) -> int | None:
        raw = doc.get(key)
        try:
            return int(raw) * NS_PER_MS if raw not in (None, "") else None
        except (TypeError, ValueError):
            return None

    issued = ms("issued_at") or now_ns
    expires = ms("expires_at") or token_expiry_ns(token, issued)
    return AccessToken(SecretStr(token), expires, issued, ob.text("user_id", ""), "token_request")


# -- storage --------------------------------------------------------------------------------


class TokenStore(Protocol):
    """Where the token lives between the login and the services that use it."""

    def load(self) -> AccessToken | None: ...

    def save(self, token: AccessToken) -> None: ...


def token_to_json(token: AccessToken) -> str:
    return json.dumps(
        {
            "access_token": token.token.get_secret_value(),
            "expires_at_ns": token.expires_at_ns,
            "issued_at_ns": token.issued_at_ns,
            "user_id": token.user_id,
            "source": token.source,
        }
    )


def token_from_json(text: str, where: str) -> AccessToken:
    try:
        ob = Obj(json.loads(text), where)
    except ValueError as e:
        raise UpstoxDecodeError(f"{where}: not JSON") from e
    token = ob.text("access_token")
    issued = ob.integer("issued_at_ns", 0)
    expires = ob.integer("expires_at_ns", 0) or token_expiry_ns(token, issued)
    return AccessToken(
        SecretStr(token), expires, issued, ob.text("user_id", ""), ob.text("source", "file")
    )


def token_from_file_text(text: str, where: str, written_ns: int) -> AccessToken:
    """A token file's contents: our JSON document, or a bare token (a mounted Secret key).

    A bare token's expiry comes from its JWT ``exp`` claim, else the first 03:30 IST after
    ``written_ns`` (when the file was written: the best guess of when it was issued).
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        return token_from_json(stripped, where)
    if not stripped or any(ch.isspace() for ch in stripped):
        raise UpstoxDecodeError(f"{where}: neither a token JSON document nor a bare token")
    expires = token_expiry_ns(stripped, written_ns)
    return AccessToken(SecretStr(stripped), expires, written_ns, "", "file")


class FileTokenStore:
    """A JSON file readable only by its owner (0600, directory 0700), written atomically.

    ``load`` also accepts a file holding only the token, as a Kubernetes Secret key mounted
    as a file does (the chart mounts ``access_token`` at ``QUANT_UPSTOX__TOKEN_FILE``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> AccessToken | None:
        try:
            text = self.path.read_text(encoding="utf-8")
            written_ns = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        return token_from_file_text(text, str(self.path), written_ns)

    def save(self, token: AccessToken) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".token-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(token_to_json(token))
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class StoredTokenSource:
    """A ``TokenSource`` for the clients: the stored token, refused once expired."""

    def __init__(self, store: TokenStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._token: AccessToken | None = None

    @property
    def token(self) -> AccessToken:
        now = self._clock.now_ns()
        if self._token is None or self._token.is_expired(now):
            self._token = self._store.load()  # maybe rotated since
        if self._token is None:
            raise UpstoxAuthError("no Upstox access token stored: run `quant auth login`")
        if self._token.is_expired(now):
            raise UpstoxAuthError(f"{self._token.describe()}: expired; run `quant auth login`")
        return self._token

    def __call__(self) -> str:
        return self.token.token.get_secret_value()

    def reload(self) -> None:
        """Forget the token held, so the next call reads the store again (a token the
        server refused may have been replaced before it expired)."""
        self._token = None

    @property
    def where(self) -> str:
        """Where the token is read from, for the log (a path, or the store's kind)."""
        path = getattr(self._store, "path", None)
        return str(path) if path is not None else type(self._store).__name__
