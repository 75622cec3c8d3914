"""Request ids: one uuid per request, in every envelope and in the ``X-Request-Id`` header."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    rid = _request_id.get()
    if not rid:
        rid = str(uuid.uuid4())
        _request_id.set(rid)
    return rid


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): sets the id before routing, adds the header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = str(uuid.uuid4())
        _request_id.set(rid)
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append(header)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
