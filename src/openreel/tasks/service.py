"""The task use cases the API calls: create (validate, store inputs, one insert), get, list."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from openreel.blobs.base import BlobStore
from openreel.clock import now_ms
from openreel.ids import new_id
from openreel.metrics import Metrics
from openreel.net.safe_http import SafeHttp
from openreel.queue.base import Enqueue
from openreel.store.client_tasks import ClientTasks, QueueFull, QueueLimits, TaskView
from openreel.store.prepared import DuplicateKey
from openreel.store.usage import QuotaGuard, UsageRepository
from openreel.tasks.errors import kling_errors
from openreel.tasks.inputs import store_inline_images
from openreel.tasks.plan import RenderPlan, request_seed
from openreel.tasks.prices import Priced, PriceTable
from openreel.tasks.routing import EngineRouter
from openreel.tasks.rules import TaskPlan, plan_task
from openreel.wire.errors import ErrorCode, KlingError, illegal
from openreel.wire.families import Family, Prefix
from openreel.wire.parsing import parse_request
from openreel.wire.tasks import TaskStatus

log = logging.getLogger("openreel.tasks")

MAX_PAGE_NUM = 1000
CANCEL_MESSAGE = "task cancelled by the user (POST .../cancel)"
ID_ATTEMPTS = 3
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Admission:
    """Queue limits at create (0: none) and the Retry-After that a refusal carries."""

    per_engine: int = 0
    per_key: int = 0
    retry_after_seconds: int = 10


def request_hash(family: Family, body: Any) -> str:
    canonical = json.dumps([family.value, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class TaskService:
    def __init__(
        self,
        views: ClientTasks,
        router: EngineRouter,
        blobs: BlobStore,
        urls: SafeHttp,
        *,
        enqueue: Enqueue | None = None,
        on_created: Callable[[], None] = lambda: None,
        on_event: Callable[[], None] = lambda: None,
        end_task: Callable[[str, str], Awaitable[bool]],
        stop_render: Callable[[str], Awaitable[None]],
        forward_cancel: Callable[[str], Awaitable[None]] | None = None,
        concurrent_decodes: int = 2,
        admission: Admission | None = None,
        metrics: Metrics | None = None,
        prices: PriceTable | None = None,
        usage: UsageRepository | None = None,
    ) -> None:
        self.metrics = metrics
        self.views = views
        self.enqueue = enqueue
        self.router = router
        self.blobs = blobs
        self.urls = urls
        self.on_created = on_created
        self.on_event = on_event
        # Cancel: end a running or queued task as failed (one conditional UPDATE, with its
        # callback event), then tell the queue (drop the job, stop the render).
        self.end_task = end_task
        self.stop_render = stop_render
        # Then send the cancel owed upstream (the relay) if no worker held the task: nobody
        # else would send it before the next reconcile sweep. Never raises.
        self.forward_cancel = forward_cancel
        # Creates whose inline images are decoded and checked at once: each holds its decoded
        # bytes meanwhile, so this bounds the API's memory under a burst of big creates.
        self.decodes = asyncio.Semaphore(concurrent_decodes)
        self.admission = admission or Admission()
        self.limits = QueueLimits(self.admission.per_engine, self.admission.per_key)
        self.prices = prices or PriceTable()
        # Resource packs: a create its key's pack cannot pay for is refused (1102).
        self.usage = usage

    async def create(
        self, owner_id: str, family: Family, prefix: Prefix, body: Any, base_url: str = ""
    ) -> TaskView:
        """Validate ``body`` and queue its task. ``base_url`` is where its callbacks' result
        links point (the API's address as the client saw it)."""
        with kling_errors():  # an image or URL refused below is Kling's 1201
            return await self._create(owner_id, family, prefix, body, base_url)

    async def _create(
        self, owner_id: str, family: Family, prefix: Prefix, body: Any, base_url: str
    ) -> TaskView:
        request = parse_request(family, body)
        plan = plan_task(request, family, prefix, self.router)
        # Address checks that need no DNS, now; names are resolved and checked on use.
        if plan.callback_url is not None:
            self.urls.check(plan.callback_url, "callback_url")
        for image in plan.image_fields:
            if image.is_remote:
                self.urls.check(image.value, image.path)
        # Only an idempotent retry compares bodies; hashing a 10 MB body otherwise is waste.
        digest = request_hash(family, body) if plan.external_task_id is not None else ""
        if plan.external_task_id is not None:
            existing = await self.views.by_external_id(owner_id, plan.external_task_id)
            if existing is not None:
                return self._same_request(existing, digest)
        await self._admit(owner_id, plan.engine)
        price = self.prices.price(priced(plan))
        guard = None
        if self.usage is not None and await self.usage.has_pack(owner_id):
            guard = QuotaGuard(owner_id, price, now_ms())
        for _ in range(ID_ATTEMPTS):
            task_id = new_id()
            try:
                inline = any(not image.is_remote for image in plan.image_fields)
                async with self.decodes if inline else contextlib.nullcontext():
                    inputs = await store_inline_images(
                        task_id, plan.image_fields, self.blobs, plan.params
                    )
                values = self._values(task_id, owner_id, plan, digest, inputs, base_url)
                values["price_milli"] = price
                view = await self.views.insert(values, self.enqueue, self.limits, guard)
            except QueueFull as full:  # another create took the last place meanwhile
                await asyncio.to_thread(self.blobs.delete_prefix, f"inputs/{task_id}")
                raise self._refusal(plan.engine, full.scope, full.waiting) from None
            except DuplicateKey:
                await asyncio.to_thread(self.blobs.delete_prefix, f"inputs/{task_id}")
                if plan.external_task_id is not None:
                    # Two creates raced on one external_task_id: the other one won.
                    existing = await self.views.by_external_id(owner_id, plan.external_task_id)
                    if existing is not None:
                        return self._same_request(existing, digest)
                continue  # another node minted the same id (see tasks.ids): take a new one
            except BaseException:
                await asyncio.to_thread(self.blobs.delete_prefix, f"inputs/{task_id}")
                raise
            self.on_created()
            log.info(
                "task created",
                extra={
                    "event": "task.created",
                    "task_id": task_id,
                    "engine": plan.engine,
                    "family": plan.family.value,
                    "model_name": plan.model_name,
                },
            )
            if self.metrics is not None:
                self.metrics.tasks_created.labels(plan.family.value, plan.engine).inc()
            if plan.callback_url is not None:
                self.on_event()
            return view
        raise KlingError(ErrorCode.INTERNAL, "could not allocate a task id; try again")

    async def _admit(self, owner_id: str, engine: str) -> None:
        """Refuse a create past the queue limits before its images are decoded and stored.
        Creates racing past this count are caught by the insert, which counts again in its
        own transaction (``store.client_tasks.QueueLimits``): a limit is never overshot."""
        limits = self.admission
        if not self.limits:
            return
        for_engine, for_owner = await self.views.queued(engine, owner_id)
        if limits.per_engine and for_engine >= limits.per_engine:
            raise self._refusal(engine, "engine", for_engine)
        if limits.per_key and for_owner >= limits.per_key:
            raise self._refusal(engine, "owner", for_owner)

    def _refusal(self, engine: str, scope: str, waiting: int) -> KlingError:
        retry = {"Retry-After": str(self.admission.retry_after_seconds)}
        if scope == "engine":
            return KlingError(
                ErrorCode.CONCURRENCY_LIMIT,
                f"model_name: the '{engine}' engine has {waiting} tasks waiting, its limit "
                "(OPENREEL_MAX_QUEUED); try again later",
                headers=retry,
            )
        return KlingError(
            ErrorCode.CONCURRENCY_LIMIT,
            f"this API key has {waiting} tasks waiting, its limit "
            "(OPENREEL_MAX_QUEUED_PER_KEY); try again when some have started",
            headers=retry,
        )

    @staticmethod
    def _same_request(existing: TaskView, digest: str) -> TaskView:
        if existing.request_hash != digest:
            raise illegal(
                "external_task_id",
                f"'{existing.external_task_id}' is already used by task {existing.id} "
                "with a different request; use a new external_task_id",
            )
        return existing

    @staticmethod
    def _values(
        task_id: str,
        owner_id: str,
        plan: TaskPlan,
        digest: str,
        inputs: dict[str, str],
        base_url: str,
    ) -> dict[str, Any]:
        now = now_ms()
        params = dict(plan.params)
        # The seed hashes the request with its pictures, before they are replaced by markers.
        render = RenderPlan(
            seed=request_seed(params),
            inputs=inputs,
            remote_inputs=tuple(f for f in plan.image_fields if f.is_remote),
            video=plan.video,
            image=plan.image,
        )
        for image in plan.image_fields:
            _blank_image_value(params, image.path)
        return dict(
            id=task_id,
            owner_id=owner_id,
            family=plan.family.value,
            kind=plan.kind.value,
            model_name=plan.model_name,
            engine=plan.engine,
            external_task_id=plan.external_task_id,
            request_hash=digest,
            params=params,
            plan=render.to_json(),
            callback_base_url=base_url if plan.callback_url is not None else None,
            status=TaskStatus.SUBMITTED.value,
            status_msg="",
            progress=0,
            result=None,
            attempts=0,
            lease_owner=None,
            lease_expires_at=None,
            created_at=now,
            updated_at=now,
        )

    async def get(self, owner_id: str, family: Family, task_id: str) -> TaskView:
        view = await self.views.find(owner_id, family.value, task_id)
        if view is None:
            raise KlingError(
                ErrorCode.NOT_FOUND, f"task_id: task '{task_id}' does not exist on {family.value}"
            )
        return view

    async def cancel(self, owner_id: str, family: Family, task_id: str) -> TaskView:
        """End a ``submitted`` or ``processing`` task as ``failed`` with ``CANCEL_MESSAGE``;
        a task that already ended is a 1201 naming ``task_id``."""
        view = await self.get(owner_id, family, task_id)
        if not await self.end_task(view.id, CANCEL_MESSAGE):
            view = await self.get(owner_id, family, view.id)
            raise illegal(
                "task_id",
                f"task {view.id} has already ended ({view.status}); "
                "only submitted or processing tasks can be cancelled",
            )
        await self.stop_render(view.id)
        if self.forward_cancel is not None:
            await self.forward_cancel(view.id)
        view = await self.get(owner_id, family, view.id)
        log.info(
            "task cancelled",
            extra={"event": "task.cancelled", "task_id": view.id, "engine": view.engine},
        )
        if self.metrics is not None:
            self.metrics.tasks_finished.labels(family.value, view.engine, view.status).inc()
        return view

    async def page(
        self, owner_id: str, family: Family, page_num: int, page_size: int
    ) -> list[TaskView]:
        if not 1 <= page_num <= MAX_PAGE_NUM:
            raise illegal("pageNum", f"must be between 1 and {MAX_PAGE_NUM}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise illegal("pageSize", f"must be between 1 and {MAX_PAGE_SIZE}")
        return await self.views.page(owner_id, family.value, page_num, page_size)


def priced(plan: TaskPlan) -> Priced:
    """What the price table needs to know of a task."""
    params = plan.params
    return Priced(
        kind=plan.kind,
        model_name=plan.model_name,
        mode=str(params.get("mode") or "std"),
        seconds=plan.video.seconds if plan.video is not None else 0,
        sound=params.get("sound") == "on",
        images=plan.image.count if plan.image is not None else 0,
        has_reference_image=bool(params.get("image")),
    )


def _blank_image_value(params: dict[str, Any], path: str) -> None:
    """Drop the (possibly 10 MB base64) image value at ``path``; the blob key replaces it."""
    node: Any = params
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        node[last] = f"input:{path}"
