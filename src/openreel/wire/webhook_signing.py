"""Standard Webhooks signatures (the scheme Kling uses for signed callbacks).

``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>`` over
``"{webhook-id}.{webhook-timestamp}.{body}"``, keyed with the base64-decoded secret after its
``whsec_`` prefix. Several signatures let a receiver move to a new secret without downtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence

__all__ = [
    "MIN_SECRET_BYTES",
    "SECRET_PREFIX",
    "new_secret",
    "secret_bytes",
    "signature",
    "verify",
    "webhook_headers",
]

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
TOLERANCE_SECONDS = 5 * 60


def new_secret() -> str:
    """A fresh ``whsec_`` secret (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_...`` secret; ValueError naming the rule if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"a webhook secret must decode to at least {MIN_SECRET_BYTES} bytes")
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(
    secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers; no signature header when there is no secret."""
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secrets_:
        headers["webhook-signature"] = " ".join(
            signature(s, msg_id, timestamp, body) for s in secrets_
        )
    return headers


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when one of the ``webhook-signature`` entries is ``secret``'s signature of ``body``
    and the timestamp is within ``tolerance`` seconds of ``now`` (unix seconds)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    expected = signature(secret, msg_id, int(stamp), body)
    return any(
        hmac.compare_digest(candidate.encode(), expected.encode())
        for candidate in lowered.get("webhook-signature", "").split()
    )
