"""Tokens, authorization codes and the access-token-request flow of the simulator.

``TokenStore`` mints JWT-shaped access tokens (HS256 with a per-instance key) that expire
at the next 03:30 IST on the simulated clock, hands out single-use authorization codes and
single-use feed codes, and validates bearer tokens (``UDAPI100050`` on failure). Used by the
REST routes, the feed handshake and by tests (:meth:`TokenStore.mint`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from quant.core.clock import IST, NS_PER_MS, Clock, datetime_to_ns, ns_to_datetime
from quant.sim.errors import invalid_token


def next_expiry_ns(now_ns: int) -> int:
    """The next 03:30 IST strictly after ``now_ns``."""
    local = ns_to_datetime(now_ns, IST)
    cut = datetime.combine(local.date(), time(3, 30), tzinfo=IST)
    if local >= cut:
        cut += timedelta(days=1)
    return datetime_to_ns(cut)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Session:
    """A valid access token's owner and expiry."""

    user_id: str
    expires_ns: int
    extended: bool = False


class TokenStore:
    """All credentials the simulator has issued."""

    def __init__(self, clock: Clock, user_id: str) -> None:
        self._clock = clock
        self._user_id = user_id
        self._key = secrets.token_bytes(32)
        self._tokens: dict[str, Session] = {}
        self._codes: dict[str, str] = {}
        self._feed_codes: dict[str, tuple[str, str]] = {}

    def mint(self, user_id: str | None = None, *, extended: bool = False) -> str:
        """A new access token for ``user_id`` (default: the simulator's user)."""
        user = user_id or self._user_id
        now = self._clock.now_ns()
        exp = now + 365 * 86_400 * 10**9 if extended else next_expiry_ns(now)
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "sub": user,
            "jti": secrets.token_hex(8),
            "isMultiClient": False,
            "isPlusPlan": False,
            "iat": now // 10**9,
            "iss": "udapi-gateway-service",
            "exp": exp // 10**9,
        }
        signing = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        sig = hmac.new(self._key, signing.encode(), hashlib.sha256).digest()
        token = signing + "." + _b64(sig)
        self._tokens[token] = Session(user, exp, extended)
        return token

    def validate(self, authorization: str | None) -> Session:
        """The session of an ``Authorization: Bearer`` header value, else 401."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise invalid_token()
        session = self._tokens.get(authorization[7:].strip())
        if session is None or self._clock.now_ns() >= session.expires_ns:
            raise invalid_token()
        return session

    def revoke(self, token: str) -> None:
        self._tokens.pop(token, None)

    def expire_all(self) -> None:
        """Fault hook: every issued token becomes invalid."""
        self._tokens.clear()

    def expiry_ms(self, token: str) -> int:
        return self._tokens[token].expires_ns // NS_PER_MS

    def issue_code(self) -> str:
        """A single-use authorization code for the OAuth dialog."""
        code = secrets.token_urlsafe(6)
        self._codes[code] = self._user_id
        return code

    def redeem_code(self, code: str) -> str | None:
        """Consume ``code`` (single use even if the exchange then fails)."""
        return self._codes.pop(code, None)

    def issue_feed_code(self, user_id: str, kind: str) -> str:
        """A single-use code embedded in an authorized websocket URL."""
        code = secrets.token_urlsafe(12)
        self._feed_codes[code] = (user_id, kind)
        return code

    def redeem_feed_code(self, code: str, kind: str) -> str | None:
        entry = self._feed_codes.pop(code, None)
        if entry is None or entry[1] != kind:
            return None
        return entry[0]
