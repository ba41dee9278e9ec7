"""The in-memory session store: ids stored as hashes, idle and absolute expiry on the
injected clock, a bound on how many are kept, and fresh random ids and CSRF tokens."""

from __future__ import annotations

from quant.core.clock import FakeClock
from quant.gateway.sessions import MemorySessionStore, new_session


def _store(clock: FakeClock, max_sessions: int = 100) -> MemorySessionStore:
    return MemorySessionStore(clock, idle_s=60, max_s=300, max_sessions=max_sessions)


def test_a_session_lives_while_used_and_ends_after_its_idle_time() -> None:
    clock = FakeClock(0)
    store = _store(clock)
    session_id, session = new_session("tara", "qk_key", clock.now_ns())
    store.put(session_id, session)
    clock.advance(59)
    found = store.get(session_id)
    assert found is not None and found.username == "tara"
    clock.advance(59)
    assert store.get(session_id) is not None  # the last request restarted the idle time
    clock.advance(60)
    assert store.get(session_id) is None and len(store) == 0


def test_a_session_ends_at_its_maximum_age_however_busy() -> None:
    clock = FakeClock(0)
    store = _store(clock)
    session_id, session = new_session("tara", "qk_key", clock.now_ns())
    store.put(session_id, session)
    for _ in range(5):
        clock.advance(59)
        assert store.get(session_id) is not None
    clock.advance(5)  # 300 s after the login
    assert store.get(session_id) is None


def test_logout_deletes_and_ids_are_kept_only_as_hashes() -> None:
    clock = FakeClock(0)
    store = _store(clock)
    session_id, session = new_session("tara", "qk_key", clock.now_ns())
    store.put(session_id, session)
    assert session_id not in store._sessions  # a memory dump has no usable id
    assert "qk_key" not in repr(session) and session.csrf_token not in repr(session)
    store.delete(session_id)
    store.delete("unknown")
    assert store.get(session_id) is None


def test_new_sessions_have_fresh_random_ids_and_tokens() -> None:
    made = [new_session("tara", "k", 0) for _ in range(50)]
    assert len({sid for sid, _ in made}) == 50
    assert len({s.csrf_token for _, s in made}) == 50
    assert all(len(sid) >= 43 for sid, _ in made)  # 256 random bits


def test_the_store_keeps_at_most_its_bound_dropping_expired_then_oldest() -> None:
    clock = FakeClock(0)
    store = _store(clock, max_sessions=3)
    ids = []
    for name in ("a", "b", "c", "d"):
        sid, session = new_session(name, "k", clock.now_ns())
        store.put(sid, session)
        ids.append(sid)
        clock.advance(1)
    assert len(store) == 3
    assert store.get(ids[0]) is None and store.get(ids[3]) is not None
