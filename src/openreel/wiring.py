"""Adapters chosen by settings, shared by ``openreel serve`` (app.py) and ``openreel worker``
(worker_node.py): the blob store and its links, the worker's dependencies, the task queue."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openreel.blobs.base import BlobStore, Links
from openreel.blobs.local import LocalBlobStore
from openreel.blobs.signing import UrlSigner
from openreel.config import Settings
from openreel.engines.base import Engine
from openreel.media.fetch import image_limits
from openreel.metrics import Metrics
from openreel.net.addresses import AddressPolicy
from openreel.net.safe_http import SafeHttp
from openreel.queue.base import TaskQueue
from openreel.queue.local import LocalWorkerPool
from openreel.store.tasks import TaskRepository
from openreel.work_area import open_work_area
from openreel.worker import WorkerDeps

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
    """The engines this process runs: ``OPENREEL_WORKER_ENGINES`` (``--engines``), or all."""
    if not settings.worker_engines:
        return engines
    unknown = [name for name in settings.worker_engines if name not in engines]
    if unknown:
        raise ValueError(
            f"--engines: {', '.join(unknown)} not configured here; known: {', '.join(engines)}"
        )
    return {name: engines[name] for name in settings.worker_engines}


def worker_deps(
    settings: Settings,
    repo: TaskRepository,
    blobs: BlobStore,
    engines: dict[str, Engine],
    http: SafeHttp,
    metrics: Metrics | None = None,
) -> WorkerDeps:
    # This process's own scratch folder; folders of dead processes are removed first.
    area = open_work_area(settings.data_dir / "work")
    return WorkerDeps(
        repo=repo,
        blobs=blobs,
        engines=engines,
        lease_seconds=settings.lease_seconds,
        work_dir=area.path,
        work_area=area,
        metrics=metrics,
        http=http,
        fetch_limits=image_limits(
            settings.fetch_timeout_seconds, settings.fetch_connect_timeout_seconds
        ),
    )


def build_queue(settings: Settings, deps: WorkerDeps) -> TaskQueue:
    """The task queue of an API process; with ``workers`` > 0 it also runs jobs here."""
    if settings.queue == "local":
        return LocalWorkerPool(
            deps,
            size=settings.workers,
            max_attempts=settings.max_attempts,
            poll_interval=settings.poll_interval,
        )
    from openreel.queue.jobs import JobRunner
    from openreel.queue.procrastinate import ProcrastinateQueue, build_app

    app = build_app(settings.resolved_database_url, max_connections=4 + settings.workers)
    runner = (
        JobRunner(app, deps, job_settings(settings, list(deps.engines)))
        if settings.workers > 0
        else None
    )
    return ProcrastinateQueue(app, runner)


def job_settings(settings: Settings, queues: list[str]) -> JobSettings:
    from openreel.queue.jobs import JobSettings

    return JobSettings(
        queues=queues,
        concurrency=max(1, settings.workers),
        max_attempts=settings.max_attempts,
        heartbeat_seconds=settings.worker_heartbeat_seconds,
        stalled_seconds=settings.stalled_worker_seconds,
        poll_interval=settings.poll_interval,
    )
