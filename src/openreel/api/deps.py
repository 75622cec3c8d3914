"""FastAPI dependencies: the app's services and the calling key's owner id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from openreel.auth.authenticate import ANONYMOUS_OWNER
from openreel.services import Services


async def get_services(request: Request) -> Services:
    # async: a sync dependency would run in the thread pool on every request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_owner(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    if not services.settings.auth:
        return ANONYMOUS_OWNER
    return await services.authenticator.owner_for(authorization)


OwnerDep = Annotated[str, Depends(get_owner)]


def base_url(request: Request, services: Services) -> str:
    return services.settings.public_url or str(request.base_url)
