"""App factory and lifespan: database, blob store, engines, task queue, first API key."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from openreel import __version__
from openreel.api.body_limit import BodyLimitMiddleware
from openreel.api.callbacks import install_callback_routes
from openreel.api.cancel import install_cancel_routes
from openreel.api.errors import install_error_handlers
from openreel.api.files import router as files_router
from openreel.api.health import router as health_router
from openreel.api.metrics import HttpMetricsMiddleware
from openreel.api.metrics import router as metrics_router
from openreel.api.openapi import install_openapi
from openreel.api.playground import install_playground
from openreel.api.request_id import RequestIdMiddleware
from openreel.api.tasks import install_task_routes
from openreel.auth.authenticate import Authenticator
from openreel.auth.keys import IssuedKey, issue_key
from openreel.blobs.base import Links
from openreel.blobs.signing import UrlSigner
from openreel.callbacks.sender import CallbackSender, SecretsFor, SenderConfig, UrlFor
from openreel.callbacks.service import CallbackService
from openreel.config import Settings
from openreel.engines import registry
from openreel.engines.base import Engine
from openreel.extras import require_extras
from openreel.metrics import Metrics
from openreel.services import Services
from openreel.store.db import Database
from openreel.store.deliveries import DeliveryRepository
from openreel.store.keys import KeyRepository
from openreel.store.task_views import TaskViews
from openreel.store.tasks import TaskRepository
from openreel.tasks.limits import MAX_BODY_BYTES
from openreel.tasks.routing import EngineRouter
from openreel.tasks.service import Admission, TaskService
from openreel.wiring import (
    build_queue,
    guarded_http,
    open_blobs,
    signing_secret,
    worker_deps,
    worker_engines,
)

log = logging.getLogger("openreel")


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


async def build_services(
    settings: Settings, engines: dict[str, Engine] | None = None, metrics: Metrics | None = None
) -> Services:
    metrics = metrics or Metrics()
    require_extras(settings, runs_jobs=settings.workers > 0 and engines is None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    await db.migrate()
    if settings.queue == "procrastinate":
        from openreel.queue.procrastinate import ensure_schema

        await ensure_schema(settings.resolved_database_url)
    keys = KeyRepository(db)
    signer = UrlSigner(signing_secret(settings), settings.url_ttl_seconds)
    opened = open_blobs(settings, signer)
    blobs, links = opened.store, opened.links
    http = guarded_http(settings, metrics)
    deliveries = DeliveryRepository(db)
    callbacks = CallbackSender(
        deliveries,
        http,
        SenderConfig(
            schedule=tuple(settings.callback_retry_schedule),
            timeout=settings.callback_timeout_seconds,
            connect_timeout=settings.fetch_connect_timeout_seconds,
            concurrency=settings.callback_concurrency,
            poll_interval=settings.poll_interval,
        ),
        secrets_for=_secrets_for(keys, settings),
        url_for=_callback_url_for(links, settings),
        metrics=metrics,
    )
    tasks_repo = TaskRepository(db, on_event=callbacks.notify)
    if engines is None:
        engines = registry.build_engines(settings.diffusers_models, runs_jobs=settings.workers > 0)
    router = EngineRouter(engines, settings.routes)
    deps = worker_deps(
        settings, tasks_repo, blobs, worker_engines(settings, engines), http, metrics
    )
    queue = build_queue(settings, deps)
    service = TaskService(
        TaskViews(db),
        router,
        blobs,
        http,
        enqueue=queue.enqueue,
        on_created=queue.notify,
        on_event=callbacks.notify,
        end_task=tasks_repo.cancel,
        stop_render=queue.cancel,
        concurrent_decodes=settings.max_concurrent_decodes,
        admission=Admission(
            per_engine=settings.max_queued,
            per_key=settings.max_queued_per_key,
            retry_after_seconds=settings.retry_after_seconds,
        ),
        metrics=metrics,
    )
    return Services(
        settings=settings,
        db=db,
        tasks_repo=tasks_repo,
        keys=keys,
        authenticator=Authenticator(keys, leeway_seconds=settings.jwt_leeway_seconds),
        blobs=blobs,
        links=links,
        files=opened.files,
        signer=signer,
        http=http,
        tasks=service,
        queue=queue,
        deliveries=deliveries,
        callbacks=callbacks,
        callback_log=CallbackService(service, deliveries, callbacks.notify),
        engines=engines,
        metrics=metrics,
    )


def _secrets_for(keys: KeyRepository, settings: Settings) -> SecretsFor:
    """A key's own webhook secrets, else the server-wide one, else none (unsigned)."""
    server_wide = (settings.webhook_secret,) if settings.webhook_secret else ()

    async def secrets_for(owner_id: str) -> tuple[str, ...]:
        return await keys.webhook_secrets(owner_id) or server_wide

    return secrets_for


def _callback_url_for(links: Links, settings: Settings) -> UrlFor:
    """Result links in callbacks: the public URL if set, else the address the task was
    created through, else this server's own address."""
    fallback = f"http://{settings.host}:{settings.port}/"

    def url_for(key: str, base_url: str | None) -> str:
        return links.url(settings.public_url or base_url or fallback, key)

    return url_for


def create_app(
    settings: Settings | None = None, engines: dict[str, Engine] | None = None
) -> FastAPI:
    """The ASGI app. ``engines`` replaces the configured engine set (tests, embedding)."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings, engines, metrics)
        app.state.services = services
        if services.db.is_sqlite:
            # One process owns a SQLite file: leases left by a dead predecessor are void.
            await services.tasks_repo.expire_all_leases()
            await services.deliveries.expire_leases()
        if settings.auth and await services.keys.count_active() == 0:
            print_first_key(await issue_key(services.keys, "default"))
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

    app = FastAPI(
        title="openreel",
        version=__version__,
        description="Kling-compatible image/video generation task API "
        "(CometAPI's /kling/v1 and Kling's /v1 paths).",
        lifespan=lifespan,
    )
    # Added first, so it runs inside the request id middleware (its 413 carries the id).
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes or MAX_BODY_BYTES)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)  # outermost: times it all
    install_error_handlers(app)
    install_task_routes(app.router)
    install_callback_routes(app.router)
    install_cancel_routes(app.router)
    if not settings.blobs:  # S3 hands out presigned URLs instead
        app.include_router(files_router)

    app.include_router(health_router)
    app.include_router(metrics_router)
    install_playground(app)
    install_openapi(app)
    return app
