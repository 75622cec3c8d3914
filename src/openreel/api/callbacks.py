"""Extension routes (not in Kling's API): a task's callback delivery log, and redelivery.

``GET  {prefix}/{family}/{task_id}/callbacks`` lists every callback event of the task (one per
status change) with each HTTP attempt. ``POST .../callbacks/redeliver`` queues an event again,
with the same ``webhook-id`` and a fresh retry schedule: the latest event by default, or the
one named by ``{"event_id": ...}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openreel.api.deps import json_body, owner_of, services_of
from openreel.api.tasks import ERROR_RESPONSES, Handler, add_family_routes, envelope
from openreel.store.events import LoggedEvent
from openreel.store.outbox import EventState
from openreel.wire.errors import illegal
from openreel.wire.families import Family


def _logged(item: LoggedEvent) -> dict[str, Any]:
    d = item.delivery
    return {
        "event_id": d.id,
        "task_status": d.task_status,
        "url": d.url,
        "state": d.state,
        "attempts": [
            {
                "number": a.number,
                "started_at": a.started_at,
                "duration_ms": a.duration_ms,
                "status_code": a.status_code,
                "error": a.error,
            }
            for a in item.attempts
        ],
        "next_attempt_at": d.next_attempt_at if d.state == EventState.PENDING else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }


def _log_handler(family: Family) -> Handler:
    async def callback_log(request: Request, task_id: str) -> JSONResponse:
        services = services_of(request)
        owner = await owner_of(request, services)
        log = await services.callback_log.log(owner, family, task_id)
        return envelope(
            {"task_id": log.task_id, "deliveries": [_logged(i) for i in log.deliveries]}
        )

    return callback_log


def _redeliver_handler(family: Family) -> Handler:
    async def redeliver(request: Request, task_id: str) -> JSONResponse:
        services = services_of(request)
        owner = await owner_of(request, services)
        raw = await request.body()
        body = await json_body(request) if raw.strip() else {}
        if not isinstance(body, dict):
            raise illegal("body", "must be a JSON object")
        event_id = body.get("event_id")
        if event_id is not None and not isinstance(event_id, str):
            raise illegal("event_id", "must be a string")
        task, queued = await services.callback_log.redeliver(owner, family, task_id, event_id)
        return envelope({"task_id": task, "queued": queued})

    return redeliver


def install_callback_routes(router: APIRouter) -> None:
    add_family_routes(
        router,
        "/{task_id}/callbacks",
        lambda prefix, family: _log_handler(family),
        method="GET",
        name="callbacks",
        summary="Callback delivery log of a task (openreel extension)",
        responses=ERROR_RESPONSES,
        tags=["callbacks"],
    )
    add_family_routes(
        router,
        "/{task_id}/callbacks/redeliver",
        lambda prefix, family: _redeliver_handler(family),
        method="POST",
        name="redeliver",
        summary="Send a callback event again (openreel extension)",
        responses=ERROR_RESPONSES,
        tags=["callbacks"],
    )
