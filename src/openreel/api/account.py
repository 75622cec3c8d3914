"""``GET /account/costs`` (Kling's own path, outside ``/v1``) and ``GET {prefix}/account/costs``
on both prefixes: the key's resource packs (Kling's shape).

Clients call it as their credentials check, so it authenticates like every API route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openreel.api.deps import owner_of, services_of
from openreel.api.tasks import AUTH_HEADER, ERROR_RESPONSES, envelope
from openreel.tasks.account import MS_RULE, account_costs
from openreel.wire.account import AccountCosts
from openreel.wire.families import Prefix
from openreel.wire.tasks import Envelope

PARAMETERS: list[dict[str, Any]] = [
    {
        "name": name,
        "in": "query",
        "required": True,
        "description": MS_RULE,
        "schema": {"type": "integer", "minimum": 0},
    }
    for name in ("start_time", "end_time")
] + [
    {
        "name": "resource_pack_name",
        "in": "query",
        "required": False,
        "description": "Only the pack of this name",
        "schema": {"type": "string"},
    }
]


async def get_account_costs(request: Request) -> JSONResponse:
    services = services_of(request)
    owner = await owner_of(request, services)
    costs = await account_costs(
        services.usage, owner, request.query_params, services.clock.now_ms()
    )
    return envelope(costs.model_dump(mode="json"))


# Kling documents the path at the root of its host, with no /v1 (third-party clients such as
# the npm package kling-api call it there); the prefixed paths are kept for openreel's SDK.
ROUTES = {
    "/account/costs": "account_costs",
    **{f"{prefix.value}/account/costs": f"account_costs{prefix.name.lower()}" for prefix in Prefix},
}


def install_account_routes(router: APIRouter) -> None:
    for path, operation_id in ROUTES.items():
        router.add_api_route(
            path,
            get_account_costs,
            methods=["GET"],
            summary="Resource packs of the calling key and what is left of them",
            tags=["account"],
            responses={
                200: {"model": Envelope[AccountCosts], "description": "The packs (code 0)"},
                **ERROR_RESPONSES,
            },
            operation_id=operation_id,
            openapi_extra={"parameters": [AUTH_HEADER, *PARAMETERS]},
        )
