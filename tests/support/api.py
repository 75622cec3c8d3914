"""Api: a TestClient around a running app, with helpers to mint keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi.testclient import TestClient

from openreel.auth.keys import IssuedKey, issue_key
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
