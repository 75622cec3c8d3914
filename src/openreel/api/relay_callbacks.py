"""Extension route (not in Kling's API): where relay upstreams call back.

``POST /openreel/v1/relay/callbacks/{task_id}/{token}`` takes the upstream's callback of a
relayed task (tasks.relay_callbacks). No API key: the token in the path is the credential,
and the access log and metrics name the route template, never the token.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openreel.api.deps import services_of
from openreel.api.request_id import current_request_id
from openreel.api.tasks import ERROR_RESPONSES
from openreel.wire.relay_callbacks import CALLBACK_ROUTE

router = APIRouter()


@router.post(
    CALLBACK_ROUTE,
    summary="An upstream's callback of a relayed task (openreel extension)",
    responses=ERROR_RESPONSES,
    include_in_schema=False,
)
async def relay_callback(request: Request, task_id: str, token: str) -> JSONResponse:
    services = services_of(request)
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None  # the body decides nothing: the task asks upstream itself
    message = await services.relay_callbacks.accept(task_id, token, body)
    return JSONResponse({"code": 0, "message": message, "request_id": current_request_id()})
