"""Upstox's error envelope and the simulator's error exception.

Every failing endpoint raises :class:`SimApiError`; the app's exception handler renders
``{"status":"error","errors":[{error_code, message, property_path, invalid_value,
errorCode, message, propertyPath, invalidValue}]}`` with the HTTP status.
"""

from __future__ import annotations

from typing import Any

INVALID_TOKEN = "UDAPI100050"  # noqa: S105 - an error code, not a secret
TOO_MANY_REQUESTS = "UDAPI10005"
INVALID_CREDENTIALS = "UDAPI100016"
BAD_REDIRECT = "UDAPI100068"
NOT_FOUND = "UDAPI100060"
INVALID_INPUT = "UDAPI100036"
TOO_MANY_KEYS = "UDAPI100042"
INVALID_DATE_RANGE = "UDAPI1148"
MARKET_CLOSED = "UDAPI100057"
PRICE_NOT_REQUIRED = "UDAPI1040"


class SimApiError(Exception):
    """An Upstox-style API error: HTTP status plus one envelope entry."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        property_path: str | None = None,
        invalid_value: Any = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.property_path = property_path
        self.invalid_value = invalid_value

    def body(self) -> dict[str, Any]:
        return envelope(self.code, self.message, self.property_path, self.invalid_value)


def envelope(
    code: str, message: str, property_path: str | None = None, invalid_value: Any = None
) -> dict[str, Any]:
    """The error body, with the deprecated camelCase duplicates Upstox still sends."""
    return {
        "status": "error",
        "errors": [
            {
                "error_code": code,
                "message": message,
                "property_path": property_path,
                "invalid_value": invalid_value,
                "errorCode": code,
                "propertyPath": property_path,
                "invalidValue": invalid_value,
            }
        ],
    }


def invalid_token() -> SimApiError:
    return SimApiError(401, INVALID_TOKEN, "Invalid token used to access API")


def bad_input(message: str, path: str | None = None, value: Any = None) -> SimApiError:
    return SimApiError(400, INVALID_INPUT, message, path, value)
