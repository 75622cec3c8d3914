"""One ``http.request`` log record per request: method, route template, status, duration,
request id and the caller's key id. Everything logged while the request is handled carries
its ``request_id`` (and its ``key_id`` once the key is known, see ``api.deps.owner_of``)."""

from __future__ import annotations

import logging
from functools import partial

from starlette.types import ASGIApp, Receive, Scope, Send

from openreel.api.observed import call_observed, route_template
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
        with log_fields(request_id=current_request_id()):
            await call_observed(self.app, scope, receive, send, partial(_log_request, scope))


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
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
            "duration_ms": round(seconds * 1000, 2),
            "client": client[0] if client else None,
        },
    )
