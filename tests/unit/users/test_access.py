"""The API-key decision shared by the gateway and the execution service: 401 / 403 / 503
with their reasons and words, the key verified off the event loop, the counter's labels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from quant.store.ports import StoreError
from quant.users import access
from quant.users.access import Denial, authorize
from quant.users.directory import Caller, Refusal, UserDirectory
from quant.users.roles import Role
from users_kit import memory_directory


@pytest.fixture
def directory() -> Iterator[UserDirectory]:
    with memory_directory() as users:
        yield users


async def test_a_key_with_the_role_is_its_caller(directory: UserDirectory) -> None:
    key = directory.create_user("tara", Role.TRADER).text
    limiter = access.new_limiter()
    assert await authorize(directory, key, Role.VIEWER, limiter) == Caller("tara", Role.TRADER)
    assert await authorize(directory, key, Role.TRADER, limiter) == Caller("tara", Role.TRADER)
    denial = await authorize(directory, key, Role.ADMIN, limiter)
    assert denial == Denial(403, "role", "this needs the role admin (or higher); yours is trader")
    assert denial.headers == {}


async def test_missing_malformed_unknown_wrong_and_disabled_keys(directory: UserDirectory) -> None:
    key = directory.create_user("vera", Role.VIEWER)
    limiter = access.new_limiter()
    cases = [
        (None, False, 401, "missing"),
        (None, True, 401, "malformed"),  # a header that is not "Bearer <key>"
        ("not-a-key", False, 401, "malformed"),
        ("qk_000000000000_" + "a" * 43, False, 401, "unknown"),
        (f"qk_{key.key_id}_" + "b" * 43, False, 401, "bad_secret"),
    ]
    for text, header, status, reason in cases:
        denial = await authorize(directory, text, Role.VIEWER, limiter, header_present=header)
        assert isinstance(denial, Denial)
        assert (denial.status, denial.reason) == (status, reason)
        assert denial.headers == {"WWW-Authenticate": "Bearer"}
        assert "b" * 43 not in denial.detail
    directory.set_disabled("vera", True)
    denial = await authorize(directory, key.text, Role.VIEWER, limiter)
    assert denial == Denial(403, Refusal.DISABLED.value, "this user is disabled")


class _DownStore:
    def verify_key(self, text: str) -> Caller | Refusal:
        raise StoreError("connection refused")


async def test_no_store_or_a_store_that_does_not_answer_is_503() -> None:
    limiter = access.new_limiter()
    key = "qk_000000000000_" + "a" * 43
    denial = await authorize(None, key, Role.VIEWER, limiter)
    assert denial == Denial(503, "unavailable", "no user store is configured")
    assert denial.headers == {"Retry-After": "5"}
    denial = await authorize(_DownStore(), key, Role.VIEWER, limiter)
    assert denial == Denial(503, "unavailable", "the user store does not answer")
    # no key at all is still a 401, store or not
    assert (await authorize(None, None, Role.VIEWER, limiter)).status == 401  # type: ignore[union-attr]


def test_the_counter_exports_every_reason_at_zero() -> None:
    registry = CollectorRegistry()
    access.failures_counter("x_auth_failures_total", registry)
    for reason in ("missing", "malformed", "unknown", "bad_secret", "disabled", "role",
                   "unavailable"):  # fmt: skip
        assert registry.get_sample_value("x_auth_failures_total", {"reason": reason}) == 0.0
