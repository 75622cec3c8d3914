"""``GET /metrics`` (Prometheus text format, no key) and the middleware counting requests by
route template (``/v1/videos/image2video/{task_id}``, never the path a client typed)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from openreel.api.deps import services_of
from openreel.api.observed import call_observed, route_template
from openreel.metrics import CONTENT_TYPE, Metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    services = services_of(request)
    depth = await services.tasks.views.queued_by_engine()
    for engine in services.engines:
        services.metrics.queue_depth.labels(engine).set(depth.get(engine, 0))
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await call_observed(self.app, scope, receive, send, partial(self._count, scope))

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        route, method = route_template(scope), scope["method"]
        self.metrics.http_requests.labels(method, route, str(status)).inc()
        self.metrics.http_seconds.labels(method, route).observe(seconds)
