"""Api: a TestClient around a running app, with helpers to mint keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

import httpx
from fastapi.testclient import TestClient

from openreel.auth.keys import IssuedKey, issue_key
from openreel.sdk import Client
from openreel.services import Services


class Response(Protocol):
    """What the tests read of a response, from the TestClient (whose httpx is starlette's
    choice) or from httpx against a live server."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self, **kwargs: Any) -> Any: ...


class Api:
    """A TestClient around a running app, with a helper to mint keys."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    @property
    def services(self) -> Services:
        services: Services = self.client.app.state.services  # type: ignore[attr-defined]
        return services

    def new_key(self, name: str = "test") -> IssuedKey:
        assert self.client.portal is not None
        return self.client.portal.call(issue_key, self.services.keys, name)

    def auth(self, key: IssuedKey) -> dict[str, str]:
        return {"Authorization": f"Bearer {key.api_key}"}

    def sdk(self, key: IssuedKey) -> Client:
        """An SDK client that talks to this app in-process (the TestClient is an httpx
        client) with ``key``."""
        return Client(str(self.client.base_url), key.api_key, http_client=self.http)

    @property
    def http(self) -> httpx.Client:
        return cast(httpx.Client, self.client)
