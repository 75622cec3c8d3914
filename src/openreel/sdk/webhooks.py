"""Receiving task callbacks: check the Standard Webhooks signature, parse the Kling body.

Example (any web framework)::

    from openreel import parse_webhook

    task = parse_webhook(request.body, request.headers, secret="whsec_...")
    print(task.task_id, task.task_status)
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from openreel.sdk.errors import OpenreelError
from openreel.wire.tasks import TaskData
from openreel.wire.webhook_signing import TOLERANCE_SECONDS, verify

__all__ = ["WebhookVerificationError", "parse_webhook", "verify_webhook"]


class WebhookVerificationError(OpenreelError):
    """The callback is not signed with the secret, or its timestamp is too old or new."""


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise ``WebhookVerificationError`` unless one of the signatures is ``secret``'s."""
    raw = body.encode() if isinstance(body, str) else body
    try:
        valid = verify(secret, headers, raw, now=int(time.time()), tolerance=tolerance)
    except ValueError as exc:  # not a whsec_ secret
        raise WebhookVerificationError(f"bad webhook secret: {exc}") from None
    if not valid:
        raise WebhookVerificationError(
            "callback signature does not match (or its timestamp is outside "
            f"{tolerance} s): check the secret"
        )


def parse_webhook(
    body: bytes | str,
    headers: Mapping[str, str] | None = None,
    secret: str | None = None,
    *,
    tolerance: int = TOLERANCE_SECONDS,
) -> TaskData:
    """The callback body as ``TaskData``, after checking its signature when ``secret`` is
    given (always give it when your server signs callbacks)."""
    if secret is not None:
        verify_webhook(body, headers or {}, secret, tolerance=tolerance)
    return TaskData.model_validate_json(body)
