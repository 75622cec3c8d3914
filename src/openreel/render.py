"""render_task: the one use case every queue calls to turn a claimed task into results.

Outputs are written to the blob store under an attempt-scoped prefix *before* the task is
marked ``succeed``, so a task is never reported done without its files; all state changes
are conditional on still holding the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openreel.blobs.base import BlobStore
from openreel.engines.base import (
    Engine,
    EngineError,
    EngineState,
    GenerationOutput,
    MemoryState,
    OutputFile,
    RenderJob,
    SlotLimits,
    TaskKind,
)
from openreel.ids import new_id
from openreel.logs import log_fields
from openreel.metrics import Metrics
from openreel.net.safe_http import FetchLimits, SafeHttp
from openreel.reconcile import CancelForwarder
from openreel.store.slots import SlotRepository
from openreel.store.tasks import TaskRecord, TaskRepository
from openreel.tasks.errors import kling_errors
from openreel.tasks.inputs import resolve_inputs
from openreel.tasks.plan import RenderPlan
from openreel.tasks.prices import parse_units
from openreel.wire.errors import KlingError
from openreel.wire.tasks import TaskStatus
from openreel.work_area import WorkArea

log = logging.getLogger("openreel.render")


class RenderCancelled(Exception):
    """Raised inside the engine thread (from the progress callback) to stop a render."""


@dataclass
class RenderDeps:
    repo: TaskRepository
    blobs: BlobStore
    engines: dict[str, Engine]
    lease_seconds: float
    work_dir: Path
    http: SafeHttp
    fetch_limits: FetchLimits
    work_area: WorkArea | None = None  # owns work_dir (held for the process's lifetime)
    metrics: Metrics | None = None
    slots: SlotRepository | None = None  # None: slots are not counted (a single test engine)
    # Sends the cancel a cancelled task owes upstream (the relay); None: never sent.
    cancels: CancelForwarder | None = None


class _Progress:
    """Thread-safe progress holder: the engine thread writes, the heartbeat reads."""

    def __init__(self, *stops: threading.Event) -> None:
        self.fraction = 0.0
        self._stops = stops

    def __call__(self, fraction: float) -> None:
        if any(stop.is_set() for stop in self._stops):
            raise RenderCancelled()
        self.fraction = min(1.0, max(self.fraction, float(fraction)))

    @property
    def percent(self) -> int:
        # 100 is reserved for succeed: the files still have to be stored.
        return min(99, int(self.fraction * 100))


class StoredState:
    """The engine's state kept in the task row (``plan.engine_state``), written from the
    engine's thread through the render's event loop; a lost lease stops the engine."""

    def __init__(
        self,
        row: TaskRecord,
        worker_id: str,
        repo: TaskRepository,
        loop: asyncio.AbstractEventLoop,
        slots: SlotRepository | None = None,
    ) -> None:
        self._row, self._worker_id, self._repo, self._loop = row, worker_id, repo, loop
        self._slots = slots
        self._state = dict(row.plan.get("engine_state") or {})
        self._latest = self._state

    def load(self) -> dict[str, Any]:
        return dict(self._state)

    def latest(self) -> dict[str, Any]:
        """The last state the engine tried to save, even one refused because the task was
        cancelled meanwhile (the relay: an upstream task id whose create answered late)."""
        return dict(self._latest)

    def __reduce__(self) -> tuple[type[MemoryState], tuple[dict[str, Any]]]:
        # A job sent to another process (the diffusers child) carries a copy of the state,
        # never the loop and repository of this one.
        return (MemoryState, (dict(self._state),))

    def save(self, state: dict[str, Any]) -> None:
        self._latest = dict(state)
        stored = asyncio.run_coroutine_threadsafe(
            self._repo.save_engine_state(self._row, self._worker_id, state), self._loop
        ).result()
        if not stored:
            raise RenderCancelled()
        self._state = dict(state)

    def note(self, message: str) -> None:
        noted = asyncio.run_coroutine_threadsafe(
            self._repo.note(self._row, self._worker_id, message), self._loop
        ).result()
        if not noted:
            raise RenderCancelled()

    def take_slot(self, pool: str, key: str, limits: SlotLimits, force: bool = False) -> bool:
        if self._slots is None:
            return True
        take = self._slots.take(
            self._row.id, self._worker_id, pool, key, limits.pool, limits.key, force=force
        )
        return asyncio.run_coroutine_threadsafe(take, self._loop).result()

    def free_slot(self) -> None:
        if self._slots is not None:
            free = self._slots.free(self._row.id, self._worker_id)
            asyncio.run_coroutine_threadsafe(free, self._loop).result()

    def nudges(self) -> int:
        if self._slots is None:
            return 0
        count = self._slots.nudges(self._row.id)
        return asyncio.run_coroutine_threadsafe(count, self._loop).result()


def build_job(
    row: TaskRecord,
    plan: RenderPlan,
    images: dict[str, Path],
    output_dir: Path,
    state: EngineState | None = None,
) -> RenderJob:
    return RenderJob(
        task_id=row.id,
        kind=TaskKind(row.kind),
        model_name=row.model_name,
        params=dict(row.params),
        images=images,
        output_dir=output_dir,
        seed=plan.seed,
        video=plan.video,
        image=plan.image,
        watermark=watermark_requested(row.params),
        state=state if state is not None else MemoryState(),
    )


def watermark_requested(params: Mapping[str, Any]) -> bool:
    """``watermark_info.enabled`` of the request as sent."""
    info = params.get("watermark_info")
    return isinstance(info, Mapping) and info.get("enabled") is True


def _upstream_charge(row: TaskRecord, result: Mapping[str, Any] | None) -> int | None:
    """What an upstream billed a relayed task (its ``final_unit_deduction``, in thousandths),
    which the task then charges instead of the price quoted at create; None keeps that price."""
    units = (result or {}).get("final_unit_deduction")
    if units is None:
        return None
    charged = parse_units(str(units))
    if charged is None:
        log.warning(
            "task %s: upstream charge %r is not a number; the quoted price stays", row.id, units
        )
    return charged


async def render_task(
    row: TaskRecord,
    worker_id: str,
    deps: RenderDeps,
    stop: threading.Event,
    cancelled: threading.Event | None = None,
) -> None:
    """Run one claimed task to ``succeed`` or ``failed`` (or hand it back if ``stop``ping).

    ``cancelled`` is set when the task was cancelled through the API (which already ended it
    ``failed``): the render stops at its next progress report and nothing more is written.
    """

    with log_fields(task_id=row.id, engine=row.engine, key_id=row.owner_id):
        await _render(row, worker_id, deps, stop, cancelled)


async def _render(
    row: TaskRecord,
    worker_id: str,
    deps: RenderDeps,
    stop: threading.Event,
    cancelled: threading.Event | None,
) -> None:
    started = time.monotonic()

    async def finish(
        status: TaskStatus, message: str = "", result: dict[str, Any] | None = None
    ) -> bool:
        ended = await deps.repo.finish(
            row, worker_id, status, message, result, _upstream_charge(row, result)
        )
        if ended and deps.metrics is not None:
            deps.metrics.tasks_finished.labels(row.family, row.engine, status.value).inc()
        log.info(
            "render finished: %s%s",
            status.value,
            f" ({message})" if message else "",
            extra={
                "event": "render.finished",
                "status": status.value,
                "recorded": ended,  # false: the lease was lost or the task was cancelled
                "duration_ms": round((time.monotonic() - started) * 1000),
                "attempt": row.attempts,
            },
        )
        return ended

    log.info(
        "render started (attempt %d)",
        row.attempts,
        extra={"event": "render.started", "kind": row.kind, "attempt": row.attempts},
    )
    engine = deps.engines.get(row.engine)
    if engine is None:
        await finish(TaskStatus.FAILED, f"engine '{row.engine}' is not configured here")
        return
    work = Path(tempfile.mkdtemp(prefix=f"task-{row.id}-", dir=deps.work_dir))
    lease_lost = threading.Event()
    progress = _Progress(stop, lease_lost, *([cancelled] if cancelled is not None else []))

    state = StoredState(row, worker_id, deps.repo, asyncio.get_running_loop(), deps.slots)

    async def generate() -> dict[str, Any]:
        plan = RenderPlan.from_json(row.plan)
        with kling_errors():  # a URL image that cannot be used fails the task naming its field
            images = await resolve_inputs(
                row.id,
                row.params,
                plan.inputs,
                plan.remote_inputs,
                deps.blobs,
                deps.http,
                deps.fetch_limits,
                work,
            )
        progress(0.0)  # stop before the engine starts if we are already shutting down
        job = build_job(row, plan, images, work, state)
        started = time.monotonic()
        output = await _in_own_thread(engine.run, job, progress)
        if deps.metrics is not None:
            deps.metrics.render_seconds.labels(row.engine, row.kind).observe(
                time.monotonic() - started
            )
        # Still under the heartbeat below: an upload to S3 can take a while.
        result = await asyncio.to_thread(_store_outputs, row, output.files, deps.blobs)
        if output.final_unit_deduction is not None:
            result["final_unit_deduction"] = output.final_unit_deduction
        return result

    try:
        # The lease is renewed while inputs are fetched, the engine runs and outputs are stored.
        render = asyncio.ensure_future(generate())
        while True:
            done, _ = await asyncio.wait({render}, timeout=min(1.0, deps.lease_seconds / 3))
            if done:
                break
            if not await deps.repo.heartbeat(row, worker_id, deps.lease_seconds, progress.percent):
                log.warning("task %s: lease lost; abandoning this attempt", row.id)
                lease_lost.set()
        result = render.result()
        if not await finish(TaskStatus.SUCCEED, result=result):
            prefix = f"outputs/{row.id}/{row.attempts}"
            await asyncio.to_thread(deps.blobs.delete_prefix, prefix)
    except RenderCancelled:
        if not lease_lost.is_set() and not (cancelled is not None and cancelled.is_set()):
            # Shutting down: hand the task back without spending an attempt.
            await deps.repo.release(row, worker_id)
            log.info("render handed back: shutting down", extra={"event": "render.released"})
        else:
            log.info("render stopped: lease lost or cancelled", extra={"event": "render.stopped"})
        if deps.cancels is not None:
            # Whatever stopped the engine (a cancel's event, a refused save, a lost lease),
            # a cancel owed upstream is sent now, with what this worker knew; only a cancel
            # records one, so a plain stop or a lost lease sends nothing.
            await deps.cancels.forward(row.id, state.latest(), holder=True)
    except KlingError as exc:  # an input that cannot be used (URL image fetched here)
        await finish(TaskStatus.FAILED, exc.message)
    except EngineError as exc:
        await finish(TaskStatus.FAILED, str(exc))
    except Exception as exc:
        log.exception("task %s failed", row.id)
        await finish(TaskStatus.FAILED, f"internal error during generation: {exc}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _in_own_thread(
    run: Callable[[RenderJob, _Progress], GenerationOutput], job: RenderJob, progress: _Progress
) -> GenerationOutput:
    """``run`` on a thread of its own, not the loop's shared default pool (a handful of
    threads): a relayed task waits on its upstream for minutes, and ``OPENREEL_WORKERS`` alone
    must bound how many renders run at once."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[GenerationOutput] = loop.create_future()

    def settle(result: GenerationOutput | None, error: BaseException | None) -> None:
        if done.done():  # the awaiting render was cancelled meanwhile
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            outcome: tuple[GenerationOutput | None, BaseException | None] = (
                run(job, progress),
                None,
            )
        except BaseException as exc:  # handed to the awaiting coroutine, raised there
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the loop is gone: the process is stopping
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=target, name=f"render-{job.task_id}", daemon=True).start()
    return await done


def _store_outputs(row: TaskRecord, files: list[OutputFile], blobs: BlobStore) -> dict[str, Any]:
    """Each output (and its watermarked copy, when asked for) to blobs; the result's entries
    name them by key (``key``, ``watermark_key``): URLs are minted when a response is built."""
    if not files:
        raise EngineError("the engine produced no output")
    watermark = watermark_requested(row.params)
    if watermark and any(file.watermark_path is None for file in files):
        raise EngineError("the engine produced no watermarked copy of its output")
    prefix = f"outputs/{row.id}/{row.attempts}"
    entries: list[dict[str, Any]] = []
    try:
        for file in files:
            entry = {"key": f"{prefix}/{file.path.name}"}
            blobs.put_file(entry["key"], file.path)
            if watermark and file.watermark_path is not None:
                entry["watermark_key"] = f"{prefix}/{file.watermark_path.name}"
                blobs.put_file(entry["watermark_key"], file.watermark_path)
            entries.append(entry)
    except BaseException:
        blobs.delete_prefix(prefix)
        raise
    if TaskKind(row.kind).makes_video:
        return {
            "videos": [
                {"id": new_id(), **entry, "duration": file.duration or ""}
                for entry, file in zip(entries, files, strict=True)
            ]
        }
    return {"images": [{"index": i, **entry} for i, entry in enumerate(entries)]}
