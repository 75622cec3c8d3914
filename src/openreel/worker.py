"""``openreel worker``: a process that only renders tasks (``OPENREEL_QUEUE=procrastinate``).

It takes jobs from the Procrastinate queues of its engines on the shared PostgreSQL, reads
inputs from and writes results to the shared blob store, and updates task rows. It serves no
HTTP and never sends callbacks: status changes only add outbox rows, which the API nodes'
senders deliver (so GPU machines need no egress).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any

from openreel.config import Settings
from openreel.engines import registry
from openreel.engines.base import Engine
from openreel.extras import require_extras
from openreel.metrics import Metrics
from openreel.store.db import Database
from openreel.store.tasks import TaskRepository
from openreel.wiring import (
    bound_render,
    guarded_http,
    job_settings,
    open_blobs,
    reconciler,
    render_deps,
    signing_secret,
    worker_engines,
)

log = logging.getLogger("openreel.worker")


async def until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work``; SIGTERM or SIGINT cancels it, which is a graceful stop (anything else
    that ends it, e.g. ``WorkerStopped``, propagates: the process exits non-zero)."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        log.info("worker stopped on a signal")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def run_worker(settings: Settings, engines: dict[str, Engine] | None = None) -> None:
    """Run jobs until SIGTERM/SIGINT; running renders are then handed back to the queue."""
    if settings.queue != "procrastinate":
        raise RuntimeError(
            "openreel worker needs OPENREEL_QUEUE=procrastinate (and PostgreSQL); with the "
            "local queue, 'openreel serve' runs the workers itself"
        )
    require_extras(settings, runs_jobs=engines is None)
    from openreel.blobs.signing import UrlSigner
    from openreel.queue.jobs import JobRunner
    from openreel.queue.procrastinate import build_app, ensure_schema

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Whatever start-up step fails (an unknown --engines name, bad weights, an unreachable
    # database), what was opened before it is closed: no connection is left to the collector.
    async with AsyncExitStack() as opened:
        db = Database(settings.resolved_database_url)
        opened.push_async_callback(db.dispose)
        await db.migrate()
        await ensure_schema(settings.resolved_database_url)
        signer = UrlSigner(signing_secret(settings), settings.url_ttl_seconds)
        blobs = open_blobs(settings, signer).store
        metrics = Metrics()
        http = guarded_http(settings, metrics)
        opened.push_async_callback(http.aclose)
        mine = worker_engines(
            settings,
            engines
            if engines is not None
            else registry.build_engines(
                settings.diffusers_models,
                relay_upstreams=settings.relay_upstreams,
                allowed_networks=settings.allowed_networks,
                relay_callback_secret=signing_secret(settings),
            ),
        )
        # No on_event: callback events stay in the outbox for the API nodes.
        deps = render_deps(settings, TaskRepository(db), blobs, mine, http, metrics)
        if deps.work_area is not None:
            opened.callback(deps.work_area.close)
        for engine in mine.values():
            opened.callback(engine.close)  # e.g. the diffusers engine's child process
        if settings.metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(settings.metrics_port, settings.metrics_host, metrics.registry)
            log.info("metrics on http://%s:%d/", settings.metrics_host, settings.metrics_port)
        app = build_app(settings.resolved_database_url, max_connections=4 + settings.workers)
        runner = JobRunner(
            app, deps.repo, bound_render(deps), job_settings(settings, mine), reconciler(deps).run
        )
        async with app.open_async():
            queues = ", ".join(runner.settings.queues)
            log.info("worker on queues %s, %d at a time", queues, max(1, settings.workers))
            await until_signalled(runner.run())
