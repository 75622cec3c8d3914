"""A front openreel app whose every model is relayed to a scripted upstream (kling_stub)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.api import Api
from tests.support.kling_stub import KlingStub

UPSTREAM_KEY = "sk-upstream-secret-0001"


def relayed_app(
    api_factory: Callable[..., Api], stub: KlingStub, workers: int | None = None, **config: Any
) -> Api:
    """An app routing ``*`` to ``relay:up``: the stub, Kling style, ``UPSTREAM_KEY``, polled
    every 0.05 s unless ``config`` says otherwise; ``workers`` as the app's setting, when given."""
    upstream: dict[str, Any] = {
        "base_url": stub.url,
        "style": "kling",
        "api_key": UPSTREAM_KEY,
        "poll_interval": 0.05,
        **config,
    }
    overrides: dict[str, Any] = {} if workers is None else {"workers": workers}
    return api_factory(routes={"*": "relay:up"}, relay_upstreams={"up": upstream}, **overrides)
