"""When an Upstox access token expires (pure: no I/O, no clock).

Upstox access tokens are JWTs whose ``exp`` claim is 03:30 IST of the day after issue
("lasts until 3:30 AM the following day, regardless of the time it was generated"). The
reconciler reads the token from its Secret and asks :func:`token_expiry_ns`; the
signature is not verified (the operator only schedules around the expiry, Upstox is
the authority). A token that is not a JWT expires at the next 03:30 IST after it was
written (``issued_ns``), or at the ``expires_at`` epoch-ms the token webhook recorded.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, time, timedelta

from quant.core.clock import IST, NS_PER_MS, NS_PER_SECOND, datetime_to_ns, ns_to_datetime

EXPIRY_TIME_IST = time(3, 30)


def jwt_expiry_ns(token: str) -> int | None:
    """The ``exp`` claim of a JWT as UTC ns, or ``None`` if ``token`` is not a JWT with one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return int(exp) * NS_PER_SECOND


def next_expiry_after(issued_ns: int) -> int:
    """The first 03:30 IST strictly after ``issued_ns`` (Upstox's daily token cut-off)."""
    issued = ns_to_datetime(issued_ns, IST)
    cutoff = datetime.combine(issued.date(), EXPIRY_TIME_IST, tzinfo=IST)
    if cutoff <= issued:
        cutoff += timedelta(days=1)
    return datetime_to_ns(cutoff)


def token_expiry_ns(
    token: str, *, issued_ns: int | None = None, expires_at_ms: int | None = None
) -> int | None:
    """Best knowledge of when ``token`` dies: JWT ``exp``, else recorded, else by the rule."""
    from_jwt = jwt_expiry_ns(token)
    if from_jwt is not None:
        return from_jwt
    if expires_at_ms is not None:
        return expires_at_ms * NS_PER_MS
    if issued_ns is not None:
        return next_expiry_after(issued_ns)
    return None
