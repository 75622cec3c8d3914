"""Schemathesis hooks (``SCHEMATHESIS_HOOKS=tests.support.kling_checks``): the custom check that
every error answer is Kling's envelope."""

from __future__ import annotations

from typing import Any

import schemathesis

from openreel.wire.errors import HTTP_STATUS, ErrorCode

KLING_CODES = {int(code) for code in ErrorCode}


@schemathesis.check
def kling_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx body is ``{code, message, request_id}`` with a code of Kling's table and
    that code's HTTP status (413, a body over the cap, carries 1201)."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {response.text[:200]!r}") from None
    if not isinstance(body, dict) or set(body) != {"code", "message", "request_id"}:
        raise AssertionError(f"not Kling's error envelope: {body!r}")
    if body["code"] not in KLING_CODES:
        raise AssertionError(f"code {body['code']!r} is not in Kling's error table")
    if not isinstance(body["message"], str) or not body["message"]:
        raise AssertionError(f"empty message: {body!r}")
    if not isinstance(body["request_id"], str) or not body["request_id"]:
        raise AssertionError(f"no request_id: {body!r}")
    expected = HTTP_STATUS[ErrorCode(body["code"])]
    if response.status_code not in (expected, 413):
        raise AssertionError(
            f"HTTP {response.status_code} with code {body['code']} (the table says {expected})"
        )
    return True
