"""The ASGI app of ``openreel serve``: routes, middleware, and a lifespan that starts and
stops what ``wiring.build_services`` assembled (plus the first API key)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from openreel import __version__
from openreel.api.access_log import AccessLogMiddleware
from openreel.api.account import install_account_routes
from openreel.api.body_limit import BodyLimitMiddleware
from openreel.api.callbacks import install_callback_routes
from openreel.api.cancel import install_cancel_routes
from openreel.api.errors import install_error_handlers
from openreel.api.files import router as files_router
from openreel.api.forwarded import ForwardedHeadersMiddleware, TrustedProxies
from openreel.api.health import router as health_router
from openreel.api.metrics import HttpMetricsMiddleware
from openreel.api.metrics import router as metrics_router
from openreel.api.openapi import install_openapi
from openreel.api.playground import install_playground
from openreel.api.relay_callbacks import router as relay_callbacks_router
from openreel.api.request_id import RequestIdMiddleware
from openreel.api.tasks import install_task_routes
from openreel.auth.keys import IssuedKey, issue_key
from openreel.clock import SYSTEM_CLOCK, Clock
from openreel.config import Settings
from openreel.engines.base import Engine
from openreel.metrics import Metrics
from openreel.tasks.limits import MAX_BODY_BYTES
from openreel.wiring import build_services

log = logging.getLogger("openreel")


FIRST_KEY_FILE = "first-key.txt"


def print_first_key(issued: IssuedKey) -> None:
    print(
        "\nopenreel: no API keys existed, so one was created. It is shown only this once:\n"
        f"  API key:     {issued.api_key}\n"
        f"  access key:  {issued.access_key}\n"
        f"  secret key:  {issued.secret_key}\n"
        "Use it as 'Authorization: Bearer <API key>' (or sign Kling JWTs with AK/SK).\n"
        "Manage keys with 'openreel keys create|list|revoke'.\n",
        flush=True,
        file=sys.stdout,
    )


def save_first_key(issued: IssuedKey, data_dir: Path) -> Path:
    """With JSON logs the first key goes to a file only the server's user can read, never to
    the log stream (log collectors keep and forward every line)."""
    path = data_dir / FIRST_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        os.fchmod(file.fileno(), 0o600)  # O_CREAT's mode does not apply to an existing file
        file.write(
            f"id:          {issued.id}\n"
            f"API key:     {issued.api_key}\n"
            f"access key:  {issued.access_key}\n"
            f"secret key:  {issued.secret_key}\n"
        )
    log.warning(
        "no API keys existed, so one was created; it is in %s (mode 0600): read it, then "
        "delete the file",
        path,
        extra={"event": "key.first_created", "key_id": issued.id, "path": str(path)},
    )
    return path


@cache
def _family_routes() -> tuple[BaseRoute, ...]:
    """The task, callback, cancel and account routes of every family on both prefixes, built
    once per process. FastAPI makes a pydantic field for each documented response of each
    route (two thirds of the time of ``create_app``), and the routes hold nothing of one app:
    their handlers find the app's services through the request."""
    router = APIRouter()
    install_task_routes(router)
    install_callback_routes(router)
    install_cancel_routes(router)
    install_account_routes(router)
    return tuple(router.routes)


def create_app(
    settings: Settings | None = None,
    engines: dict[str, Engine] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> FastAPI:
    """The ASGI app. ``engines`` replaces the configured engine set (tests, embedding);
    ``clock`` the wall clock the handlers read (tests)."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings, engines, metrics, clock)
        app.state.services = services
        if services.db.is_sqlite:
            # One process owns a SQLite file: leases left by a dead predecessor are void.
            await services.tasks_repo.expire_all_leases()
            await services.events.expire_leases()
        if settings.auth and await services.keys.count_active() == 0:
            issued = await issue_key(services.keys, "default")
            if settings.log_format == "json":
                save_first_key(issued, settings.data_dir)
            else:
                print_first_key(issued)
        await services.queue.start()
        services.callbacks.start()
        try:
            yield
        finally:
            await services.queue.stop()
            for engine in services.engines.values():
                engine.close()  # e.g. the diffusers engine's child process
            await services.callbacks.stop()
            await services.http.aclose()
            await services.db.dispose()
            if services.work_area is not None:
                services.work_area.close()

    app = FastAPI(
        title="openreel",
        version=__version__,
        description="Kling-compatible image/video generation task API "
        "(CometAPI's /kling/v1 and Kling's /v1 paths).",
        lifespan=lifespan,
    )
    # The last added runs first. The body limit runs inside the request id middleware (its
    # 413 carries the id); the access log inside it too (the id is on its line); the proxy
    # headers before everything (the metrics and logs see the real scheme and client).
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes or MAX_BODY_BYTES)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)  # times it all
    app.add_middleware(
        ForwardedHeadersMiddleware, trusted=TrustedProxies(settings.forwarded_allow_ips)
    )
    install_error_handlers(app)
    # Into the app's own router: an included router would be matched twice per request.
    app.router.routes.extend(_family_routes())
    app.include_router(relay_callbacks_router)
    if not settings.blobs:  # S3 hands out presigned URLs instead
        app.include_router(files_router)

    app.include_router(health_router)
    app.include_router(metrics_router)
    install_playground(app)
    install_openapi(app)
    return app
