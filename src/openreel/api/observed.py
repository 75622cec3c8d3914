"""What the access log and the HTTP metrics both watch of a request: the route template that
served it, the status the client got and how long it took."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"  # every path no route knows: one label, whatever was asked


def route_template(scope: Scope) -> str:
    """The route that served the request, as declared (set on the scope by routing)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    root = scope.get("root_path", "")
    if root:  # a mounted app (the playground's static files)
        return f"{root}/{{path}}"
    return UNMATCHED


async def call_observed(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    finished: Callable[[int, float], None],
) -> None:
    """Runs ``app`` on an HTTP request, then calls ``finished(status, seconds)``, also when
    the app raises (status 500 then, unless it had already answered)."""
    started = time.perf_counter()
    status = 500  # what the client gets if the app fails before answering

    async def send_status(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        await send(message)

    try:
        await app(scope, receive, send_status)
    finally:
        finished(status, time.perf_counter() - started)
