"""The API key format: ``qk_<key_id>_<secret>``.

``key_id`` (12 lowercase hex characters) is stored in clear and finds the key's row in
one indexed lookup; only the argon2id hash of ``secret`` (43 URL-safe base64 characters,
256 random bits) is stored. So a request costs one hash verification, not one per stored
key, and a leaked table gives no usable key.
"""

from __future__ import annotations

import re
import secrets
from typing import NamedTuple

PREFIX = "qk"
_ID_BYTES = 6
_SECRET_BYTES = 32
_FORMAT = re.compile(r"qk_(?P<key_id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")


class ApiKey(NamedTuple):
    key_id: str
    secret: str

    @property
    def text(self) -> str:
        """The key as the user sends it (``Authorization: Bearer <text>``)."""
        return f"{PREFIX}_{self.key_id}_{self.secret}"

    def __repr__(self) -> str:  # never show the secret in a traceback or log
        return f"ApiKey(key_id={self.key_id!r}, secret=<hidden>)"


def new_key() -> ApiKey:
    """A fresh random key."""
    return ApiKey(secrets.token_hex(_ID_BYTES), secrets.token_urlsafe(_SECRET_BYTES))


def parse_key(text: str) -> ApiKey | None:
    """The key in ``text``, or None when it is not one (wrong shape, length, characters)."""
    match = _FORMAT.fullmatch(text.strip())
    if match is None:
        return None
    return ApiKey(match.group("key_id"), match.group("secret"))
