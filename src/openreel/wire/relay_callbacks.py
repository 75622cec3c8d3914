"""The signed endpoint a relay upstream calls back on (an openreel extension).

A relayed task created with callbacks on carries ``callback_url`` =
``<callback_base_url>/openreel/v1/relay/callbacks/<task_id>/<token>``, where the token is an
HMAC-SHA256 of the task id under the server's signing secret: only whoever received that URL
(the upstream) can call back for that task, and no table of tokens is kept. The route
template, never the token, is what access logs and metrics name.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["CALLBACK_ROUTE", "callback_path", "callback_token", "token_matches"]

CALLBACK_ROUTE = "/openreel/v1/relay/callbacks/{task_id}/{token}"


def callback_token(secret: bytes, task_id: str) -> str:
    return hmac.new(secret, f"relay-callback:{task_id}".encode(), hashlib.sha256).hexdigest()


def callback_path(secret: bytes, task_id: str) -> str:
    return CALLBACK_ROUTE.format(task_id=task_id, token=callback_token(secret, task_id))


def token_matches(secret: bytes, task_id: str, token: str) -> bool:
    return hmac.compare_digest(callback_token(secret, task_id).encode(), token.encode())
