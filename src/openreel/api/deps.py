"""What every task route needs from a request: the app's services and the caller's owner id.

Plain functions rather than FastAPI ``Depends``: the task routes are the hot path (clients
poll), and dependency resolution cost more than the database query behind a poll.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from openreel.auth.authenticate import ANONYMOUS_OWNER
from openreel.logs import add_fields
from openreel.services import Services
from openreel.wire.errors import ErrorCode, KlingError


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def owner_of(request: Request, services: Services) -> str:
    if not services.settings.auth:
        return ANONYMOUS_OWNER
    owner = await services.authenticator.owner_for(request.headers.get("authorization"))
    add_fields(key_id=owner)  # the key's public id (never the key) on the request's logs
    return owner


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise KlingError(ErrorCode.INVALID_PARAMS, "request body is not valid JSON") from None


def base_url(request: Request, services: Services) -> str:
    return services.settings.public_url or str(request.base_url)
