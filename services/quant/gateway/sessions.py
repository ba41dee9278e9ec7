"""Browser sessions of the gateway: a small port and the in-memory store of one process.

A session is made at login (:func:`new_session`: a random 256-bit id, a CSRF token of its
own) and kept on the server; the browser holds only the id, in an HttpOnly cookie set by
:mod:`quant.gateway.login`. :class:`SessionStore` is the port (a shared store, e.g.
PostgreSQL or Redis, can stand behind it later for several gateway replicas);
:class:`MemorySessionStore` keeps them in this process's memory, so a restart logs every
browser out. A session ends ``idle_s`` after its last request, ``max_s`` after the login
whatever happens, or at logout (:meth:`SessionStore.delete`). Ids are stored as their
SHA-256, so the store holds nothing a browser could present. Time comes from the injected
clock.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Protocol

from quant.core.clock import Clock

_NS = 1_000_000_000
ID_BYTES = 32


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: who, its CSRF token, and the credential the gateway forwards
    to the execution service on its behalf (never sent to the browser)."""

    username: str
    csrf_token: str
    forward_key: str
    created_ns: int
    seen_ns: int

    def __repr__(self) -> str:  # never show the secrets in a traceback or log
        return f"Session(username={self.username!r}, created_ns={self.created_ns})"


def new_session(username: str, forward_key: str, now_ns: int) -> tuple[str, Session]:
    """A fresh session id (what the cookie carries) and its session."""
    token = secrets.token_urlsafe(ID_BYTES)
    return token, Session(username, secrets.token_urlsafe(ID_BYTES), forward_key, now_ns, now_ns)


class SessionStore(Protocol):
    """Where sessions live, by the id the browser presents."""

    def put(self, session_id: str, session: Session) -> None:
        """Store a new session."""
        ...

    def get(self, session_id: str) -> Session | None:
        """The live session of ``session_id`` (its idle time restarted), or None when
        there is none or it expired (then it is gone)."""
        ...

    def delete(self, session_id: str) -> None:
        """End the session (logout); nothing happens for an unknown id."""
        ...


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class MemorySessionStore:
    """Sessions in this process's memory (thread-safe), at most ``max_sessions``."""

    def __init__(self, clock: Clock, idle_s: float, max_s: float, max_sessions: int) -> None:
        self._clock = clock
        self._idle_ns = int(idle_s * _NS)
        self._max_ns = int(max_s * _NS)
        self._max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def _live(self, session: Session, now: int) -> bool:
        return now - session.seen_ns < self._idle_ns and now - session.created_ns < self._max_ns

    def put(self, session_id: str, session: Session) -> None:
        now = self._clock.now_ns()
        with self._lock:
            if len(self._sessions) >= self._max_sessions:
                self._sessions = {k: s for k, s in self._sessions.items() if self._live(s, now)}
                while len(self._sessions) >= self._max_sessions:  # the oldest first
                    self._sessions.pop(next(iter(self._sessions)))
            self._sessions[_key(session_id)] = session

    def get(self, session_id: str) -> Session | None:
        now = self._clock.now_ns()
        key = _key(session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if not self._live(session, now):
                del self._sessions[key]
                return None
            session = replace(session, seen_ns=now)
            self._sessions[key] = session
            return session

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(_key(session_id), None)
