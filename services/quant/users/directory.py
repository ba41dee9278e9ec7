"""The user directory: create users, issue keys, verify keys and passwords, check roles.

:class:`UserDirectory` works over the store's ``UserRepository`` port (PostgreSQL, or
SQLite in ``quant up``) and a :class:`~quant.users.hashing.SecretHasher`; it stores
secrets only as hashes and hands a new key out once, to its caller.

Verifying a key (:meth:`UserDirectory.verify_key`) reads its row by the key id in the
key, verifies the secret against that one hash, then reads the user (so disabling a user
or changing a role takes effect on the next request). A verified secret is remembered for
``cache_s`` seconds (its SHA-256, in memory only), so a client's steady stream of
requests does not pay an argon2id verification each. Refusals carry a reason
(:class:`Refusal`); the gateway turns them into 401/403 and counts them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from enum import StrEnum
from typing import NamedTuple

from quant.core.clock import Clock, SystemClock
from quant.store.ports import ApiKeyRecord, UserRecord, UserRepository
from quant.users.hashing import SecretHasher
from quant.users.keys import ApiKey, new_key, parse_key
from quant.users.roles import Role

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 8
DEFAULT_CACHE_S = 60.0
CACHE_SIZE = 4096


class Refusal(StrEnum):
    """Why a request's credentials were refused (the metric's ``reason`` label)."""

    MISSING = "missing"  # no credentials at all
    MALFORMED = "malformed"  # not a key of ours
    UNKNOWN = "unknown"  # no such key id or user
    BAD_SECRET = "bad_secret"  # noqa: S105 - the secret or password does not match
    DISABLED = "disabled"  # the user is disabled
    ROLE = "role"  # the user's role is too low for the endpoint


class Caller(NamedTuple):
    """Who a verified key or password belongs to."""

    username: str
    role: Role


class UserInfo(NamedTuple):
    """A user as ``quant users list`` shows it (no secret, not even its hash)."""

    username: str
    role: Role
    disabled: bool
    has_password: bool


class UserError(ValueError):
    """A user-management request that cannot be done (the message says why)."""


def check_name(username: str) -> str:
    if not NAME_PATTERN.fullmatch(username):
        raise UserError(
            "a user name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return username


def check_role(caller: Caller, needed: Role) -> Refusal | None:
    """None when ``caller`` may do what ``needed`` may, else :attr:`Refusal.ROLE`."""
    return None if caller.role.allows(needed) else Refusal.ROLE


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class UserDirectory:
    """Users and their keys over a ``UserRepository`` (see the module docstring).

    Thread-safe; every method does blocking store calls (asyncio callers use a thread).
    """

    def __init__(
        self,
        repo: UserRepository,
        hasher: SecretHasher,
        *,
        clock: Clock | None = None,
        cache_s: float = DEFAULT_CACHE_S,
    ) -> None:
        self._repo = repo
        self._hasher = hasher
        self._clock = clock or SystemClock()
        self._cache_ns = int(cache_s * 1e9)
        self._verified: dict[str, tuple[bytes, int]] = {}  # key id -> (sha256, expiry)
        self._lock = threading.Lock()
        self._decoy_hash: str | None = None

    # --- management ---------------------------------------------------------------------

    def create_user(self, username: str, role: Role, password: str | None = None) -> ApiKey:
        """Add ``username`` with ``role`` (and ``password``) and a first key, which is
        returned (its secret is not stored). :class:`UserError` if the name is taken."""
        check_name(username)
        password_hash = "" if password is None else self._hasher.hash(self._password(password))
        key = new_key()
        record = UserRecord(username, password_hash, role.label)
        key_record = ApiKeyRecord(key.key_id, username, self._hasher.hash(key.secret))
        if not self._repo.create_user(record, key_record):
            raise UserError(f"user {username!r} exists already")
        return key

    def issue_key(self, username: str) -> ApiKey:
        """A new key for an existing user (its other keys stay valid)."""
        self._user(username)
        key = new_key()
        self._repo.save_api_key(ApiKeyRecord(key.key_id, username, self._hasher.hash(key.secret)))
        return key

    def set_password(self, username: str, password: str) -> None:
        user = self._user(username)
        self._repo.save_user(user._replace(secret_hash=self._hasher.hash(self._password(password))))

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (or enable) ``username``; returns whether that changed anything."""
        user = self._user(username)
        if user.disabled == disabled:
            return False
        self._repo.save_user(user._replace(disabled=disabled))
        return True

    def get(self, username: str) -> UserInfo | None:
        user = self._repo.get_user(username)
        return None if user is None else self._info(user)

    def list_users(self) -> list[UserInfo]:
        return [self._info(u) for u in self._repo.list_users()]

    # --- verification -------------------------------------------------------------------

    def verify_key(self, text: str) -> Caller | Refusal:
        """The caller whose key ``text`` is, or why not (never raises for bad input)."""
        key = parse_key(text)
        if key is None:
            return Refusal.MALFORMED
        stored = self._repo.get_api_key(key.key_id)
        if stored is None:
            return Refusal.UNKNOWN
        if not self._cached(key) and not self._verify_secret(key, stored.secret_hash):
            return Refusal.BAD_SECRET
        user = self._repo.get_user(stored.username)
        if user is None:
            return Refusal.UNKNOWN
        return self._caller(user)

    def verify_password(self, username: str, password: str) -> Caller | Refusal:
        """The caller if ``password`` is ``username``'s (the dashboard's login).

        An unknown user, or one without a password, costs one argon2id verification too
        (against a hash of nothing), so the time taken does not tell which names exist.
        """
        user = self._repo.get_user(username)
        if user is None or not user.secret_hash:
            self._hasher.verify(self._decoy(), password)
            return Refusal.UNKNOWN if user is None else Refusal.BAD_SECRET
        if not self._hasher.verify(user.secret_hash, password):
            return Refusal.BAD_SECRET
        return self._caller(user)

    # --- internals ----------------------------------------------------------------------

    def _decoy(self) -> str:
        """A hash no password matches, made once (what unknown users are checked against)."""
        with self._lock:
            if self._decoy_hash is None:
                self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(32))
            return self._decoy_hash

    def _user(self, username: str) -> UserRecord:
        user = self._repo.get_user(username)
        if user is None:
            raise UserError(f"no user {username!r}")
        return user

    @staticmethod
    def _password(password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise UserError(f"a password has at least {MIN_PASSWORD} characters")
        return password

    @staticmethod
    def _info(user: UserRecord) -> UserInfo:
        return UserInfo(user.username, Role.parse(user.role), user.disabled, bool(user.secret_hash))

    @staticmethod
    def _caller(user: UserRecord) -> Caller | Refusal:
        if user.disabled:
            return Refusal.DISABLED
        return Caller(user.username, Role.parse(user.role))

    def _cached(self, key: ApiKey) -> bool:
        now = self._clock.now_ns()
        with self._lock:
            hit = self._verified.get(key.key_id)
        return hit is not None and hit[1] > now and hmac.compare_digest(hit[0], _digest(key.secret))

    def _verify_secret(self, key: ApiKey, encoded: str) -> bool:
        if not self._hasher.verify(encoded, key.secret):
            return False
        if self._cache_ns > 0:
            now = self._clock.now_ns()
            with self._lock:
                if len(self._verified) >= CACHE_SIZE:
                    live = {k: v for k, v in self._verified.items() if v[1] > now}
                    while len(live) >= CACHE_SIZE:
                        live.pop(next(iter(live)))
                    self._verified = live
                self._verified[key.key_id] = (_digest(key.secret), now + self._cache_ns)
        return True
