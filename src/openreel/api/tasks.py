"""Create, query and list routes for every family, under both ``/kling/v1`` and ``/v1``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from openreel.api.deps import OwnerDep, ServicesDep, base_url
from openreel.api.request_id import current_request_id
from openreel.services import Services
from openreel.store.task_views import TaskView
from openreel.tasks.families import Family, Prefix
from openreel.tasks.presenter import task_data
from openreel.wire.errors import illegal
from openreel.wire.tasks import ErrorEnvelope

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


def _present(request: Request, services: Services, views: list[TaskView]) -> list[dict[str, Any]]:
    base = base_url(request, services)

    def url_for(key: str) -> str:
        return services.signer.url(base, key)

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
    async def create_task(
        request: Request,
        services: ServicesDep,
        owner: OwnerDep,
        body: Annotated[Any, Body()],
    ) -> JSONResponse:
        view = await services.tasks.create(owner, family, prefix, body)
        return envelope(_present(request, services, [view])[0])

    return create_task


def _get_handler(family: Family) -> Handler:
    async def get_task(
        request: Request, task_id: str, services: ServicesDep, owner: OwnerDep
    ) -> JSONResponse:
        view = await services.tasks.get(owner, family, task_id)
        return envelope(_present(request, services, [view])[0])

    return get_task


def _list_handler(family: Family) -> Handler:
    async def list_tasks(
        request: Request,
        services: ServicesDep,
        owner: OwnerDep,
        pageNum: str | None = None,  # noqa: N803 - Kling's parameter names
        pageSize: str | None = None,  # noqa: N803
        external_task_id: str | None = None,
    ) -> JSONResponse:
        if external_task_id:
            view = await services.tasks.get(owner, family, external_task_id)
            return envelope(_present(request, services, [view])[0])
        views = await services.tasks.page(
            owner,
            family,
            _int_query(pageNum, "pageNum", 1),
            _int_query(pageSize, "pageSize", 30),
        )
        return envelope(_present(request, services, views))

    return list_tasks


CREATE_SUMMARIES = {
    Family.IMAGE2VIDEO: "Create an image-to-video task",
    Family.MULTI_IMAGE2VIDEO: "Create a multi-image-to-video (Elements) task",
    Family.IMAGE_GENERATIONS: "Create an image generation task (multi-image-to-image when "
    "subject_image_list is given)",
    Family.MULTI_IMAGE2IMAGE: "Create a multi-image-to-image task",
}


def build_router() -> APIRouter:
    router = APIRouter()
    for prefix in Prefix:
        for family in Family:
            path = f"{prefix.value}/{family.value}"
            tag = family.value
            router.add_api_route(
                path,
                _create_handler(prefix, family),
                methods=["POST"],
                summary=CREATE_SUMMARIES[family],
                tags=[tag],
                responses=ERROR_RESPONSES,
                operation_id=f"create_{family.name.lower()}{prefix.name.lower()}",
            )
            router.add_api_route(
                f"{path}/{{task_id}}",
                _get_handler(family),
                methods=["GET"],
                summary="Query one task by task_id or external_task_id",
                tags=[tag],
                responses=ERROR_RESPONSES,
                operation_id=f"get_{family.name.lower()}{prefix.name.lower()}",
            )
            router.add_api_route(
                path,
                _list_handler(family),
                methods=["GET"],
                summary="List tasks (pageNum, pageSize; newest first) or find by external_task_id",
                tags=[tag],
                responses=ERROR_RESPONSES,
                operation_id=f"list_{family.name.lower()}{prefix.name.lower()}",
            )
    return router
