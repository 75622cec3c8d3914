"""openreel: a self-hosted server that speaks the Kling generation API wire format, and the
Python SDK for it (``from openreel import Client, AsyncClient``)."""

from __future__ import annotations

__version__ = "0.1.0"

from openreel.sdk import (  # noqa: E402  (after __version__: the server imports it)
    AccountError,
    AsyncClient,
    AuthenticationError,
    Client,
    Endpoint,
    InternalServerError,
    InvalidRequestError,
    LocalValidationError,
    OpenreelError,
    PolicyError,
    RateLimitError,
    RunResult,
    Task,
    TaskFailedError,
    TaskStatus,
    TransportError,
    WaitTimeoutError,
    WebhookVerificationError,
    parse_webhook,
    verify_webhook,
)

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
    "__version__",
    "parse_webhook",
    "verify_webhook",
]
