"""Roles are ordered viewer < trader < admin; keys have one strict shape and hide their secret."""

from __future__ import annotations

import pytest

from quant.users.keys import new_key, parse_key
from quant.users.roles import ROLE_NAMES, Role


def test_roles_are_ordered_and_higher_roles_include_lower_ones() -> None:
    assert ROLE_NAMES == ("viewer", "trader", "admin")
    assert Role.ADMIN.allows(Role.TRADER) and Role.ADMIN.allows(Role.VIEWER)
    assert Role.TRADER.allows(Role.TRADER) and Role.TRADER.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.TRADER)
    assert not Role.TRADER.allows(Role.ADMIN)


def test_role_names_parse_in_any_case_and_unknown_ones_say_the_choices() -> None:
    assert Role.parse(" Trader ") is Role.TRADER
    assert Role.parse("admin").label == "admin"
    with pytest.raises(ValueError, match="viewer, trader, admin"):
        Role.parse("root")


def test_a_new_key_round_trips_and_every_key_is_different() -> None:
    keys = [new_key() for _ in range(50)]
    assert len({k.text for k in keys}) == 50 and len({k.key_id for k in keys}) == 50
    for key in keys:
        assert key.text.startswith(f"qk_{key.key_id}_")
        assert parse_key(key.text) == key
        assert parse_key(f"  {key.text}\n") == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "qk_",
        "Bearer qk_0123456789ab_" + "a" * 43,
        "qk_0123456789AB_" + "a" * 43,  # upper-case id
        "qk_0123456789a_" + "a" * 43,  # short id
        "qk_0123456789ab_" + "a" * 42,  # short secret
        "qk_0123456789ab_" + "a" * 44,
        "qk_0123456789ab_" + "a" * 42 + "!",
        "xk_0123456789ab_" + "a" * 43,
        "qk_0123456789ab_" + "a" * 42 + "\x00",
    ],
)
def test_anything_else_is_not_a_key(text: str) -> None:
    assert parse_key(text) is None


def test_a_key_never_shows_its_secret_in_repr() -> None:
    key = new_key()
    assert key.secret not in repr(key) and key.key_id in repr(key)
    assert key.secret not in repr([key])
