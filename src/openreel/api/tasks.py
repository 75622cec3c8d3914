"""Create, query and list routes for every family, under both ``/kling/v1`` and ``/v1``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openreel.api.deps import base_url, json_body, owner_of, services_of
from openreel.api.request_id import current_request_id
from openreel.services import Services
from openreel.store.client_tasks import TaskView
from openreel.tasks.presenter import task_data
from openreel.wire.errors import illegal
from openreel.wire.families import Family, Prefix, family_entry
from openreel.wire.tasks import Envelope, ErrorEnvelope, TaskData

TASK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[TaskData], "description": "The task (code 0)"}
}
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[list[TaskData]], "description": "Tasks, newest first (code 0)"}
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Bad parameters (codes 1200, 1201)"),
        (401, "Authentication failed (codes 1000-1004)"),
        (404, "Unknown task, model or endpoint (codes 1202, 1203)"),
        (429, "Rate or concurrency limit (codes 1302, 1303)"),
        (500, "Internal error (code 5000)"),
    )
}


def envelope(data: Any) -> JSONResponse:
    rid = current_request_id()
    return JSONResponse({"code": 0, "message": "SUCCEED", "request_id": rid, "data": data})


def present(request: Request, services: Services, views: list[TaskView]) -> list[dict[str, Any]]:
    base = base_url(request, services)

    def url_for(key: str) -> str:
        return services.links.url(base, key)

    return [task_data(view, url_for) for view in views]


def _int_query(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise illegal(name, "must be an integer") from None


Handler = Callable[..., Awaitable[JSONResponse]]


def _create_handler(prefix: Prefix, family: Family) -> Handler:
    async def create_task(request: Request) -> JSONResponse:
        services = services_of(request)
        owner = await owner_of(request, services)
        body = await json_body(request)
        base = base_url(request, services)
        view = await services.tasks.create(owner, family, prefix, body, base)
        return envelope(present(request, services, [view])[0])

    return create_task


def _get_handler(family: Family) -> Handler:
    async def get_task(request: Request, task_id: str) -> JSONResponse:
        services = services_of(request)
        owner = await owner_of(request, services)
        view = await services.tasks.get(owner, family, task_id)
        return envelope(present(request, services, [view])[0])

    return get_task


def _list_handler(family: Family) -> Handler:
    async def list_tasks(request: Request) -> JSONResponse:
        services = services_of(request)
        owner = await owner_of(request, services)
        query = request.query_params
        external_task_id = query.get("external_task_id")
        if external_task_id:
            view = await services.tasks.get(owner, family, external_task_id)
            return envelope(present(request, services, [view])[0])
        views = await services.tasks.page(
            owner,
            family,
            _int_query(query.get("pageNum"), "pageNum", 1),
            _int_query(query.get("pageSize"), "pageSize", 30),
        )
        return envelope(present(request, services, views))

    return list_tasks


LIST_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "pageNum",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
    },
    {
        "name": "pageSize",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 30},
    },
    {
        "name": "external_task_id",
        "in": "query",
        "required": False,
        "description": "Return the one task with this external_task_id instead of a page",
        "schema": {"type": "string"},
    },
]
AUTH_HEADER: dict[str, Any] = {
    "name": "Authorization",
    "in": "header",
    "required": False,
    "description": "Bearer <API key> or Bearer <Kling AK/SK JWT>",
    "schema": {"type": "string"},
}


def add_family_routes(
    router: APIRouter,
    path: str,
    handler: Callable[[Prefix, Family], Handler],
    *,
    method: str,
    name: str,
    summary: str | Callable[[Family], str],
    responses: dict[int | str, dict[str, Any]],
    tags: list[str | Enum] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> None:
    """One route per path prefix and family: ``{prefix}/{family}{path}``, operation id
    ``{name}_{family}{prefix}``, the family as tag unless ``tags`` are given."""
    for prefix in Prefix:
        for family in Family:
            router.add_api_route(
                f"{prefix.value}/{family.value}{path}",
                handler(prefix, family),
                methods=[method],
                summary=summary(family) if callable(summary) else summary,
                tags=list(tags or [family.value]),
                responses=responses,
                operation_id=f"{name}_{family.name.lower()}{prefix.name.lower()}",
                openapi_extra={"parameters": [AUTH_HEADER, *(parameters or [])]},
            )


def install_task_routes(router: APIRouter) -> None:
    """Add all task routes to ``router``. Routes are matched in order: polls, then creates,
    then lists."""
    add_family_routes(
        router,
        "/{task_id}",
        lambda prefix, family: _get_handler(family),
        method="GET",
        name="get",
        summary="Query one task by task_id or external_task_id",
        responses={**TASK_RESPONSES, **ERROR_RESPONSES},
    )
    add_family_routes(
        router,
        "",
        _create_handler,
        method="POST",
        name="create",
        summary=lambda family: family_entry(family).summary,
        responses={**TASK_RESPONSES, **ERROR_RESPONSES},
    )
    add_family_routes(
        router,
        "",
        lambda prefix, family: _list_handler(family),
        method="GET",
        name="list",
        summary="List tasks (pageNum, pageSize; newest first) or find by external_task_id",
        responses={**LIST_RESPONSES, **ERROR_RESPONSES},
        parameters=LIST_PARAMETERS,
    )
