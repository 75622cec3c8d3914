"""``GET {prefix}/account/costs`` on both prefixes: the key's resource packs (Kling's shape).

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


def install_account_routes(router: APIRouter) -> None:
    for prefix in Prefix:
        router.add_api_route(
            f"{prefix.value}/account/costs",
            get_account_costs,
            methods=["GET"],
            summary="Resource packs of the calling key and what is left of them",
            tags=["account"],
            responses={
                200: {"model": Envelope[AccountCosts], "description": "The packs (code 0)"},
                **ERROR_RESPONSES,
            },
            operation_id=f"account_costs{prefix.name.lower()}",
            openapi_extra={"parameters": [AUTH_HEADER, *PARAMETERS]},
        )
