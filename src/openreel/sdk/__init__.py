"""The Python SDK: sync and async clients for openreel, Kling and CometAPI."""

from __future__ import annotations

from openreel.sdk.client import AsyncClient, Client, RunResult
from openreel.sdk.errors import (
    AccountError,
    AuthenticationError,
    InternalServerError,
    InvalidRequestError,
    LocalValidationError,
    OpenreelError,
    PolicyError,
    RateLimitError,
    TaskFailedError,
    TransportError,
    WaitTimeoutError,
)
from openreel.sdk.models import Endpoint, Task, TaskStatus
from openreel.sdk.webhooks import WebhookVerificationError, parse_webhook, verify_webhook

__all__ = [
    "AccountError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "Endpoint",
    "InternalServerError",
    "InvalidRequestError",
    "LocalValidationError",
    "OpenreelError",
    "PolicyError",
    "RateLimitError",
    "RunResult",
    "Task",
    "TaskFailedError",
    "TaskStatus",
    "TransportError",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "parse_webhook",
    "verify_webhook",
]
