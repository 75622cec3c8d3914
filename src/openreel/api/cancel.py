"""Extension route (not in Kling's API): cancel a task.

``POST {prefix}/{family}/{task_id}/cancel`` ends a ``submitted`` or ``processing`` task as
``failed`` with ``task_status_msg`` saying it was cancelled, in one conditional UPDATE that
also records its callback event. The queue is then told: a queued job is dropped, a running
render is stopped (it would stop anyway at its next heartbeat, having lost its lease). A task
that already ended is left as it is: 400/1201 naming ``task_id``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openreel.api.deps import owner_of, services_of
from openreel.api.tasks import (
    ERROR_RESPONSES,
    TASK_RESPONSES,
    Handler,
    add_family_routes,
    envelope,
    present,
)
from openreel.wire.families import Family


def _cancel_handler(family: Family) -> Handler:
    async def cancel_task(request: Request, task_id: str) -> JSONResponse:
        services = services_of(request)
        owner = await owner_of(request, services)
        view = await services.tasks.cancel(owner, family, task_id)
        return envelope(present(request, services, [view])[0])

    return cancel_task


def install_cancel_routes(router: APIRouter) -> None:
    add_family_routes(
        router,
        "/{task_id}/cancel",
        lambda prefix, family: _cancel_handler(family),
        method="POST",
        name="cancel",
        summary="Cancel a submitted or processing task (openreel extension)",
        responses={**TASK_RESPONSES, **ERROR_RESPONSES},
    )
