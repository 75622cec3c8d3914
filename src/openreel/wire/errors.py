"""Kling's error table (HTTP status + service code) and the exception that carries it.

Every failure the server returns is a ``KlingError``; the API layer turns it into
``{"code", "message", "request_id"}`` with the table's HTTP status.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    AUTH_FAILED = 1000
    AUTH_MISSING = 1001
    AUTH_INVALID = 1002
    TOKEN_NOT_YET_VALID = 1003
    TOKEN_EXPIRED = 1004
    ACCOUNT_ABNORMAL = 1100
    ARREARS = 1101
    RESOURCE_PACK_EXHAUSTED = 1102
    NO_PERMISSION = 1103
    INVALID_PARAMS = 1200
    ILLEGAL_VALUE = 1201
    INVALID_METHOD = 1202
    NOT_FOUND = 1203
    POLICY = 1300
    RATE_LIMITED = 1302
    CONCURRENCY_LIMIT = 1303
    INTERNAL = 5000
    UNAVAILABLE = 5001
    TIMEOUT = 5002


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.AUTH_FAILED: 401,
    ErrorCode.AUTH_MISSING: 401,
    ErrorCode.AUTH_INVALID: 401,
    ErrorCode.TOKEN_NOT_YET_VALID: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.ACCOUNT_ABNORMAL: 429,
    ErrorCode.ARREARS: 429,
    ErrorCode.RESOURCE_PACK_EXHAUSTED: 429,
    ErrorCode.NO_PERMISSION: 403,
    ErrorCode.INVALID_PARAMS: 400,
    ErrorCode.ILLEGAL_VALUE: 400,
    ErrorCode.INVALID_METHOD: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.POLICY: 400,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.CONCURRENCY_LIMIT: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.TIMEOUT: 504,
}


class KlingError(Exception):
    """A failure with Kling's service code; ``message`` names the field and the rule."""

    def __init__(
        self, code: ErrorCode, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}  # e.g. Retry-After on 1303

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


def illegal(field: str, rule: str) -> KlingError:
    """A 1201 error for one field: ``"<field>: <rule>"``."""
    return KlingError(ErrorCode.ILLEGAL_VALUE, f"{field}: {rule}")
