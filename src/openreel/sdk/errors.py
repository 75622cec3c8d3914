"""SDK exceptions: one class per family of Kling's error table, plus the client's own.

Every server error carries ``code``, ``message`` and ``request_id`` as the server sent them,
and ``http_status``. ``error_for`` picks the class from the code (or, for bodies that are not
Kling's, such as CometAPI's gateway errors, from the HTTP status).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccountError",
    "AuthenticationError",
    "InternalServerError",
    "InvalidRequestError",
    "LocalValidationError",
    "OpenreelError",
    "PolicyError",
    "RateLimitError",
    "TaskFailedError",
    "TransportError",
    "WaitTimeoutError",
    "error_for",
]


class OpenreelError(Exception):
    """Base of every SDK error."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.request_id:
            parts.append(f"request_id {self.request_id}")
        return " | ".join(parts)


class AuthenticationError(OpenreelError):
    """1000-1004: missing, invalid, not yet valid or expired credentials (HTTP 401)."""


class AccountError(OpenreelError):
    """1100-1103: account state, balance or permission (HTTP 429/403)."""


class InvalidRequestError(OpenreelError):
    """1200-1203: bad parameters, unknown method or resource (HTTP 400/404)."""


class LocalValidationError(InvalidRequestError):
    """A parameter the server would refuse, caught before any request (code 1201)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=1201)


class PolicyError(OpenreelError):
    """1300-1304: content or platform policy, rate and concurrency limits."""


class RateLimitError(PolicyError):
    """1302/1303 (HTTP 429): too many requests or tasks at once; retried automatically."""


class InternalServerError(OpenreelError):
    """5000-5002: the server failed or is unavailable; retried automatically."""


class TransportError(OpenreelError):
    """The server could not be reached or the connection broke (after the retries)."""


class TaskFailedError(OpenreelError):
    """The task ended ``failed``; ``task`` is its last state, ``message`` its reason."""

    def __init__(self, task: Any) -> None:
        super().__init__(f"task {task.task_id} failed: {task.task_status_msg or 'no reason given'}")
        self.task = task


class WaitTimeoutError(OpenreelError):
    """The deadline passed before the task ended; ``task`` is its last known state."""

    def __init__(self, task: Any, timeout: float) -> None:
        super().__init__(f"task {task.task_id} is still {task.task_status} after {timeout:g} s")
        self.task = task


def _class_for(code: int | None, http_status: int) -> type[OpenreelError]:
    if code is not None and code > 0:
        family = code // 100
        if family == 10:
            return AuthenticationError
        if family == 11:
            return AccountError
        if family == 12:
            return InvalidRequestError
        if code in (1302, 1303):
            return RateLimitError
        if family == 13:
            return PolicyError
        if family == 50:
            return InternalServerError
    if http_status == 401:
        return AuthenticationError
    if http_status == 403:
        return AccountError
    if http_status == 429:
        return RateLimitError
    if http_status >= 500:
        return InternalServerError
    return InvalidRequestError


def error_for(http_status: int, body: Any, request_id: str | None) -> OpenreelError:
    """The exception for a non-success answer: Kling's ``{code, message, request_id}`` or
    another gateway's body."""
    code: int | None = None
    message = f"HTTP {http_status}"
    if isinstance(body, dict):
        if isinstance(body.get("code"), int):
            code = body["code"]
        if isinstance(body.get("message"), str):
            message = body["message"]
        elif isinstance(body.get("error"), dict) and body["error"].get("message"):
            message = str(body["error"]["message"])  # CometAPI's gateway envelope
        request_id = body.get("request_id") or request_id
    return _class_for(code, http_status)(
        message, code=code, request_id=request_id, http_status=http_status
    )
