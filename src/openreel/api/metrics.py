"""``GET /metrics`` (Prometheus text format, no key) and the middleware counting requests by
route template (``/v1/videos/image2video/{task_id}``, never the path a client typed)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openreel.api.deps import services_of
from openreel.metrics import CONTENT_TYPE, Metrics

router = APIRouter()
UNMATCHED = "unmatched"  # every path no route knows: one label, whatever was asked


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    services = services_of(request)
    depth = await services.tasks.views.queued_by_engine()
    for engine in services.engines:
        services.metrics.queue_depth.labels(engine).set(depth.get(engine, 0))
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)


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


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

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

        try:
            await self.app(scope, receive, send_status)
        finally:
            route, method = route_template(scope), scope["method"]
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_seconds.labels(method, route).observe(time.perf_counter() - started)
