"""The Upstox adapter's exception hierarchy and the mapping from HTTP/envelope to it.

Raised by the REST client, the feed client and the auth helpers; callers (ingestor,
execution, sync, auth CLI) catch :class:`UpstoxError` subclasses. Whether an error is
worth retrying is decided here, in :attr:`UpstoxError.retryable`, and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from quant.upstox.constants import AUTH_ERROR_CODES, ERR_RATE_LIMIT


@dataclass(frozen=True, slots=True)
class ApiErrorDetail:
    """One entry of the Upstox error envelope's ``errors`` list."""

    code: str
    message: str
    property_path: str | None = None


class UpstoxError(Exception):
    """Base class of every error the adapter raises."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: tuple[ApiErrorDetail, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.details = details

    @property
    def code(self) -> str | None:
        """The first Upstox error code, if the response carried one."""
        return self.details[0].code if self.details else None


class UpstoxAuthError(UpstoxError):
    """The token is missing, invalid or expired (HTTP 401, ``UDAPI100050``), or the call
    was forbidden (HTTP 403: not permitted, or too many feed connections)."""

    @property
    def token_refused(self) -> bool:
        """Whether the token itself is the problem (only a new token helps): HTTP 401, an
        invalid-token code, or no usable token at hand; not a bare 403."""
        return self.status != 403 or self.code in AUTH_ERROR_CODES


class UpstoxRateLimitError(UpstoxError):
    """Upstox refused the call for exceeding a rate limit (HTTP 429, ``UDAPI10005``)."""

    retryable = True


class UpstoxValidationError(UpstoxError):
    """The request was rejected as invalid (other 4xx)."""


class UpstoxServerError(UpstoxError):
    """Upstox failed (5xx); safe calls may be retried."""

    retryable = True


class UpstoxTransportError(UpstoxError):
    """The request never got an HTTP answer (connect/read timeout, reset)."""

    retryable = True


class UpstoxDecodeError(UpstoxError):
    """A response body or feed frame could not be parsed into domain types."""


class FeedSubscriptionLimitError(UpstoxError):
    """A subscription would exceed Upstox's per-mode feed limits (checked client-side)."""


class InstrumentMasterError(UpstoxError):
    """The instrument master download is truncated or malformed; keep yesterday's data."""


class InstrumentMasterTooLarge(InstrumentMasterError):
    """The instrument master (compressed or not) is over the configured size limit."""


def parse_error_details(body: bytes) -> tuple[ApiErrorDetail, ...]:
    """Extract the ``errors`` list from an Upstox error envelope; empty if there is none."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ()
    if not isinstance(doc, dict):
        return ()
    errors = doc.get("errors")
    if not isinstance(errors, list):
        return ()
    out: list[ApiErrorDetail] = []
    for item in errors:
        if not isinstance(item, dict):
            continue
        code = item.get("error_code") or item.get("errorCode") or ""
        path = item.get("property_path") or item.get("propertyPath")
        out.append(
            ApiErrorDetail(
                code=str(code),
                message=str(item.get("message") or ""),
                property_path=None if path is None else str(path),
            )
        )
    return tuple(out)


def error_for_response(status: int, body: bytes, what: str) -> UpstoxError:
    """Map an HTTP status and Upstox error body to the matching exception (not raised)."""
    details = parse_error_details(body)
    codes = {d.code for d in details}
    summary = "; ".join(f"{d.code}: {d.message}" for d in details) or f"HTTP {status}"
    message = f"{what} failed with HTTP {status}: {summary}"
    if status in (401, 403) or codes & AUTH_ERROR_CODES:
        return UpstoxAuthError(message, status=status, details=details)
    if status == 429 or ERR_RATE_LIMIT in codes:
        return UpstoxRateLimitError(message, status=status, details=details)
    if status >= 500:
        return UpstoxServerError(message, status=status, details=details)
    return UpstoxValidationError(message, status=status, details=details)
