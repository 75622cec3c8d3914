"""The composition root, shared by ``openreel serve`` (app.py) and ``openreel worker``
(worker.py): the adapters the settings choose (blob store and its links, engines, task queue,
callback sender), the render's dependencies, and the whole set of services of an API process.
Nothing else builds adapters; the worker process never imports the FastAPI app."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openreel.auth.authenticate import Authenticator
from openreel.blobs.base import BlobStore, Links
from openreel.blobs.local import LocalBlobStore
from openreel.blobs.signing import UrlSigner
from openreel.callbacks.sender import CallbackSender, SecretsFor, SenderConfig, UrlFor
from openreel.callbacks.service import CallbackService
from openreel.clock import SYSTEM_CLOCK, Clock
from openreel.config import Settings
from openreel.engines import registry
from openreel.engines.base import Engine
from openreel.extras import require_extras
from openreel.media.fetch import image_limits
from openreel.metrics import Metrics
from openreel.net.addresses import AddressPolicy
from openreel.net.safe_http import SafeHttp
from openreel.queue.base import RELAY_QUEUE, Render, TaskQueue, queue_for
from openreel.queue.local import LocalWorkerPool
from openreel.reconcile import CancelForwarder, Reconciler
from openreel.render import RenderDeps, render_task
from openreel.services import Services
from openreel.store.cancels import UpstreamCancels
from openreel.store.client_tasks import ClientTasks
from openreel.store.db import Database
from openreel.store.events import EventRepository
from openreel.store.keys import KeyRepository
from openreel.store.slots import SlotRepository
from openreel.store.tasks import TaskRecord, TaskRepository
from openreel.store.usage import UsageRepository
from openreel.tasks.prices import PriceTable
from openreel.tasks.relay_callbacks import RelayCallbacks
from openreel.tasks.routing import EngineRouter
from openreel.tasks.service import Admission, TaskService
from openreel.work_area import open_work_area

if TYPE_CHECKING:
    from openreel.queue.jobs import JobSettings

MIB = 1024 * 1024


def signing_secret(settings: Settings) -> bytes:
    if settings.signing_secret:
        return settings.signing_secret.encode()
    path = settings.data_dir / "signing.key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class OpenedBlobs:
    store: BlobStore
    links: Links  # how result files reach clients
    files: LocalBlobStore | None  # what this server's /files route serves (None on S3)


def open_blobs(settings: Settings, signer: UrlSigner) -> OpenedBlobs:
    """S3 with presigned links when ``OPENREEL_BLOBS`` is set, else the data directory with
    links signed by this server (served by ``/files``)."""
    if settings.blobs:
        from openreel.blobs.s3 import S3BlobStore

        store = S3BlobStore(
            settings.blobs,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            addressing_style=settings.s3_addressing_style,
            url_ttl_seconds=settings.url_ttl_seconds,
            multipart_threshold=settings.s3_multipart_threshold_mb * MIB,
            multipart_chunk=settings.s3_multipart_chunk_mb * MIB,
        )
        return OpenedBlobs(store, store, None)
    local = LocalBlobStore(settings.data_dir / "blobs")
    return OpenedBlobs(local, signer, local)


def guarded_http(settings: Settings, metrics: Metrics | None = None) -> SafeHttp:
    """The client for user-supplied URLs, counting its refusals."""
    on_refusal = (
        (lambda kind: metrics.fetch_refusals.labels(kind).inc())
        if metrics is not None
        else (lambda kind: None)
    )
    return SafeHttp(AddressPolicy.from_cidrs(settings.allowed_networks), on_refusal=on_refusal)


def worker_engines(settings: Settings, engines: dict[str, Engine]) -> dict[str, Engine]:
    """The engines this process runs: ``OPENREEL_WORKER_ENGINES`` (``--engines``), or all.
    ``relay`` (or any ``relay:<upstream>``) means every relay engine: their jobs share the
    queue ``relay``, so a relay worker must be able to run any of them."""
    if not settings.worker_engines:
        return engines
    relays = [name for name in engines if queue_for(name) == RELAY_QUEUE]
    unknown = [
        name
        for name in settings.worker_engines
        if (name not in engines and name != RELAY_QUEUE) or (name == RELAY_QUEUE and not relays)
    ]
    if unknown:
        raise ValueError(
            f"--engines: {', '.join(unknown)} not configured here; known: {', '.join(engines)}"
        )
    wanted: list[str] = []
    for name in settings.worker_engines:
        wanted += relays if queue_for(name) == RELAY_QUEUE or name == RELAY_QUEUE else [name]
    return {name: engines[name] for name in dict.fromkeys(wanted)}


def render_deps(
    settings: Settings,
    repo: TaskRepository,
    blobs: BlobStore,
    engines: dict[str, Engine],
    http: SafeHttp,
    metrics: Metrics | None = None,
) -> RenderDeps:
    # This process's own scratch folder; folders of dead processes are removed first.
    area = open_work_area(settings.data_dir / "work")
    return RenderDeps(
        repo=repo,
        blobs=blobs,
        engines=engines,
        lease_seconds=settings.lease_seconds,
        work_dir=area.path,
        work_area=area,
        metrics=metrics,
        slots=SlotRepository(repo.db),
        cancels=CancelForwarder(repo, UpstreamCancels(repo.db), engines),
        http=http,
        fetch_limits=image_limits(
            settings.fetch_timeout_seconds, settings.fetch_connect_timeout_seconds
        ),
    )


def bound_render(deps: RenderDeps) -> Render:
    """``render_task`` with this process's dependencies, for the queues to call."""

    def render(
        row: TaskRecord,
        worker_id: str,
        stop: threading.Event,
        cancelled: threading.Event | None,
    ) -> Awaitable[None]:
        return render_task(row, worker_id, deps, stop, cancelled)

    return render


def reconciler(deps: RenderDeps) -> Reconciler:
    """The reconcile sweep of a process that runs jobs (``reconcile``)."""
    return Reconciler(deps.slots or SlotRepository(deps.repo.db), deps.cancels)


def build_queue(settings: Settings, deps: RenderDeps) -> TaskQueue:
    """The task queue of an API process; with ``workers`` > 0 it also runs jobs here."""
    if settings.queue == "local":
        return LocalWorkerPool(
            deps.repo,
            bound_render(deps),
            lease_seconds=settings.lease_seconds,
            size=settings.workers,
            max_attempts=settings.max_attempts,
            poll_interval=settings.poll_interval,
            sweep=reconciler(deps).run,
        )
    from openreel.queue.jobs import JobRunner
    from openreel.queue.procrastinate import ProcrastinateQueue, build_app

    app = build_app(settings.resolved_database_url, max_connections=4 + settings.workers)
    runner = (
        JobRunner(
            app,
            deps.repo,
            bound_render(deps),
            job_settings(settings, deps.engines),
            reconciler(deps).run,
        )
        if settings.workers > 0
        else None
    )
    return ProcrastinateQueue(app, runner)


def job_settings(settings: Settings, engines: Iterable[str]) -> JobSettings:
    """The job queues of ``engines``: each relay engine's is ``relay``, and its own name too,
    where jobs deferred before the shared queue (``relay:<name>``) still wait."""
    from openreel.queue.jobs import JobSettings

    names = list(engines)
    queues = [queue_for(name) for name in names]
    queues += [name for name in names if queue_for(name) == RELAY_QUEUE]
    return JobSettings(
        queues=list(dict.fromkeys(queues)),
        concurrency=max(1, settings.workers),
        max_attempts=settings.max_attempts,
        heartbeat_seconds=settings.worker_heartbeat_seconds,
        stalled_seconds=settings.stalled_worker_seconds,
        poll_interval=settings.poll_interval,
        lease_seconds=settings.lease_seconds,
    )


async def build_services(
    settings: Settings,
    engines: dict[str, Engine] | None = None,
    metrics: Metrics | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Services:
    metrics = metrics or Metrics()
    require_extras(settings, runs_jobs=settings.workers > 0 and engines is None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        return await _assemble(settings, db, engines, metrics, clock)
    except BaseException:
        await db.dispose()  # a failed start-up (bad weights, bad settings) leaves no connection
        raise


async def _assemble(
    settings: Settings,
    db: Database,
    engines: dict[str, Engine] | None,
    metrics: Metrics,
    clock: Clock,
) -> Services:
    await db.migrate()
    if settings.queue == "procrastinate":
        from openreel.queue.procrastinate import ensure_schema

        await ensure_schema(settings.resolved_database_url)
    keys = KeyRepository(db)
    secret = signing_secret(settings)
    signer = UrlSigner(secret, settings.url_ttl_seconds, clock)
    opened = open_blobs(settings, signer)
    blobs, links = opened.store, opened.links
    http = guarded_http(settings, metrics)
    events = EventRepository(db)
    callbacks = CallbackSender(
        events,
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
        engines = registry.build_engines(
            settings.diffusers_models,
            runs_jobs=settings.workers > 0,
            relay_upstreams=settings.relay_upstreams,
            allowed_networks=settings.allowed_networks,
            relay_callback_secret=secret,
        )
    router = EngineRouter(engines, settings.routes)
    deps = render_deps(
        settings, tasks_repo, blobs, worker_engines(settings, engines), http, metrics
    )
    queue = build_queue(settings, deps)
    usage = UsageRepository(db)
    service = TaskService(
        ClientTasks(db),
        router,
        blobs,
        http,
        enqueue=queue.enqueue,
        on_created=queue.notify,
        on_event=callbacks.notify,
        end_task=tasks_repo.cancel,
        stop_render=queue.cancel,
        forward_cancel=CancelForwarder(tasks_repo, UpstreamCancels(db), engines).forward,
        concurrent_decodes=settings.max_concurrent_decodes,
        admission=Admission(
            per_engine=settings.max_queued,
            per_key=settings.max_queued_per_key,
            retry_after_seconds=settings.retry_after_seconds,
        ),
        metrics=metrics,
        prices=PriceTable(settings.prices),
        usage=usage,
    )
    return Services(
        settings=settings,
        db=db,
        tasks_repo=tasks_repo,
        keys=keys,
        usage=usage,
        authenticator=Authenticator(keys, leeway_seconds=settings.jwt_leeway_seconds),
        blobs=blobs,
        links=links,
        files=opened.files,
        signer=signer,
        http=http,
        tasks=service,
        queue=queue,
        events=events,
        callbacks=callbacks,
        callback_log=CallbackService(service, events, callbacks.notify),
        engines=engines,
        metrics=metrics,
        relay_callbacks=RelayCallbacks(secret, tasks_repo, SlotRepository(db)),
        clock=clock,
        work_area=deps.work_area,
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
