"""One ``http.request`` log record per request: method, route template, status, duration,
request id and the caller's key id. Everything logged while the request is handled carries
its ``request_id`` (and its ``key_id`` once the key is known, see ``api.deps.owner_of``)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openreel.api.metrics import route_template
from openreel.api.request_id import current_request_id
from openreel.logs import log_fields

log = logging.getLogger("openreel.access")


class AccessLogMiddleware:
    """Pure ASGI; runs inside the request id middleware, so the id is known here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with log_fields(request_id=current_request_id()):
            try:
                await self.app(scope, receive, send_status)
            finally:
                if log.isEnabledFor(logging.INFO):
                    route, method = route_template(scope), scope["method"]
                    client = scope.get("client")
                    log.info(
                        "%s %s %d",
                        method,
                        route,
                        status,
                        extra={
                            "event": "http.request",
                            "method": method,
                            "route": route,
                            "status": status,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                            "client": client[0] if client else None,
                        },
                    )
