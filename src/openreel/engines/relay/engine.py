"""The relay engine: a task rendered by an upstream Kling-wire API, its results copied home.

One run, in the render's thread (its own event loop):

1. the upstream task: the one stored with the task (an earlier attempt made it), or the one
   upstream knows by openreel's ``external_task_id`` (a create whose answer was lost), or a
   new create; its id is stored before anything else happens;
2. polls with backoff until upstream ends it; rate limits, 5xx and network errors wait and
   try again, never ending the task; the upstream's progress is reported;
3. on ``succeed`` every result file is fetched through the guarded client (streamed, capped)
   into the output folder: the render stores them before the task is marked ``succeed``.

Upstream ``failed``, moderation and invalid requests fail the task with upstream's reason; a
refused key fails it naming the upstream (never the key) and is not used again.

Before anything, the run takes a slot of the upstream's ``max_concurrency`` (and of its key's)
through the task's state: counted in the database, so the bound holds over every worker
process. With ``callback_base_url`` set, the create carries a signed ``callback_url``; each
accepted callback nudges the task (``EngineState.nudges``) and the poll loop asks upstream at
once instead of at its next poll, so a callback's own body never decides anything.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from openreel.engines.base import (
    BaseEngine,
    Capabilities,
    EngineError,
    Feature,
    GenerationOutput,
    OutputFile,
    ProgressFn,
    RenderJob,
    SlotLimits,
    TaskKind,
)
from openreel.engines.relay.config import RELAY_PREFIX, UpstreamConfig, UpstreamKey
from openreel.engines.relay.keys import KeyPool, NoHealthyKey
from openreel.engines.relay.requests import external_task_id, upstream_body
from openreel.engines.relay.upstream import (
    AuthRefused,
    NotFound,
    Rejected,
    Transient,
    UpstreamClient,
    UpstreamTask,
)
from openreel.net.addresses import AddressPolicy, parse_ip_literal
from openreel.net.safe_http import FetchFailed, FetchLimits, SafeHttp, UrlRefused
from openreel.wire.families import Family, Prefix, family_for_kind
from openreel.wire.relay_callbacks import callback_path

__all__ = ["RelayEngine"]

log = logging.getLogger("openreel.relay")

# Kling's duration strings over every model (3-15 s on kling-v3); the model rules narrow them.
_DURATIONS = frozenset(str(s) for s in range(3, 16))
_MIRROR_TRIES = 8
_MAX_BACKOFF = 60.0
_SLOT_WAIT = 0.5  # seconds between tries at a slot of a full upstream


class RelayEngine(BaseEngine):
    """Serves every kind and feature: the upstream decides what its models can do."""

    def __init__(
        self,
        upstream: str,
        config: UpstreamConfig,
        allowed_networks: Iterable[str] = (),
        callback_secret: bytes | None = None,
    ) -> None:
        self.name = f"{RELAY_PREFIX}{upstream}"
        self.upstream = upstream
        self.config = config
        self.capabilities = Capabilities(
            kinds=frozenset(TaskKind), features=frozenset(Feature), durations=_DURATIONS
        )
        self.keys = KeyPool(config.pool)
        # Signs the callback_url of each create (wire.relay_callbacks); None: no callbacks.
        self.callback_secret = callback_secret
        cidrs = list(allowed_networks)
        host = urlsplit(config.base_url).hostname or ""
        if parse_ip_literal(host) is not None:
            cidrs.append(host)  # the configured upstream's own address serves its results
        self._policy = AddressPolicy.from_cidrs(cidrs)

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        return asyncio.run(self._relay(job, progress))

    def cancel_elsewhere(self, task_id: str, kind: TaskKind, state: dict[str, Any]) -> bool:
        """Cancel the upstream task of a task cancelled here, when the upstream is configured
        to take cancels (``forward_cancel``); its result is discarded either way. Without a
        stored upstream task id, one whose create may have reached upstream (the "creating"
        mark) is looked up by ``external_task_id`` first. False only when that finds none (a
        create still in flight may make it later); anything else is sent at most once."""
        upstream_id = state.get("upstream_task_id")
        key = self.keys.by_fingerprint(state.get("key"))
        if not self.config.forward_cancel or key is None:
            return True
        if not upstream_id and not state.get("creating"):
            return True  # nothing was ever sent upstream
        prefix = Prefix.COMETAPI if self.config.style == "cometapi" else Prefix.KLING
        family = family_for_kind(kind, prefix)
        try:
            sent = asyncio.run(self._cancel(family, task_id, upstream_id, key))
        except (Transient, AuthRefused, Rejected, NotFound) as exc:
            log.warning("upstream task of %s not cancelled: %s", task_id, exc)
            return True
        if sent is None:
            log.info("task %s: no upstream task found to cancel on %s", task_id, self.upstream)
            return False
        log.info("upstream task %s cancelled on %s", sent, self.upstream)
        return True

    async def _cancel(
        self, family: Family, task_id: str, upstream_id: object, key: UpstreamKey
    ) -> str | None:
        """The upstream task id cancelled; None when no upstream task was found."""
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as http:
            client = UpstreamClient(self.upstream, self.config, http)
            if not upstream_id:
                try:
                    found = await client.find(family, external_task_id(task_id), key)
                except NotFound:
                    return None
                upstream_id = found.task_id
            await client.cancel(family.value, str(upstream_id), key)
            return str(upstream_id)

    async def _relay(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as http:
            run = _Run(self, job, progress, UpstreamClient(self.upstream, self.config, http))
            return await run.go()

    def callback_url(self, task_id: str) -> str | None:
        """openreel's signed endpoint for this task's upstream callbacks, when configured."""
        base = self.config.callback_base_url
        if base is None or self.callback_secret is None:
            return None
        return base + callback_path(self.callback_secret, task_id)


class _Run:
    def __init__(
        self, engine: RelayEngine, job: RenderJob, progress: ProgressFn, client: UpstreamClient
    ) -> None:
        self.engine = engine
        self.job = job
        self.progress = progress
        self.client = client
        prefix = Prefix.COMETAPI if engine.config.style == "cometapi" else Prefix.KLING
        self.family: Family = family_for_kind(job.kind, prefix)
        self.external_id = external_task_id(job.task_id)
        self.state = job.state.load()
        self.key: UpstreamKey | None = None
        self.callbacks = engine.callback_url(job.task_id) is not None
        self.seen_nudges = 0

    async def go(self) -> GenerationOutput:
        try:
            self.key = await self._slot()
            self.engine.keys.hold(self.key)
            try:
                task = await self._upstream_task()
                task = await self._until_done(task)
                return await self._mirror(task)
            finally:
                self.engine.keys.release(self._current_key())
        finally:
            self.job.state.free_slot()

    # ---------------------------------------------------------------- the upstream task

    async def _slot(self) -> UpstreamKey:
        """A key, and a slot of the upstream's ``max_concurrency`` and of that key's, held
        until the run ends; a stop or a cancel is still noticed while waiting."""
        stored = self.engine.keys.by_fingerprint(self.state.get("key"))
        if self.state.get("key") and stored is None:
            raise EngineError(
                f"upstream '{self.engine.upstream}': the key this task was created with is no "
                "longer configured"
            )
        while True:
            if stored is not None:
                # The upstream task (if any) belongs to this key's account, and it may exist
                # already: it runs upstream whether counted or not, so it takes its slot.
                while not self._take(stored, force=True):
                    await self._sleep(_SLOT_WAIT)
                return stored
            try:
                ready, wait = self.engine.keys.ready()
            except NoHealthyKey:
                raise EngineError(
                    f"upstream '{self.engine.upstream}' refused every configured key"
                ) from None
            for key in ready:
                if self._take(key):
                    return key
            await self._sleep(wait if not ready else _SLOT_WAIT)

    def _take(self, key: UpstreamKey, force: bool = False) -> bool:
        config = self.engine.config
        limits = SlotLimits(pool=config.max_concurrency, key=config.key_limit(key))
        return self.job.state.take_slot(self.engine.name, key.fingerprint, limits, force)

    async def _upstream_task(self) -> UpstreamTask:
        if self.state.get("upstream_task_id"):
            upstream_id = str(self.state["upstream_task_id"])
            return await self._retrying(partial(self.client.get, self.family, upstream_id))
        # A create may have reached upstream on an earlier attempt (a crash before its
        # answer was stored): look for it by external_task_id before creating another.
        ambiguous = bool(self.state.get("creating"))
        self._save(creating=True)
        body = upstream_body(
            self.job.params,
            self.job.images,
            self.job.task_id,
            self.engine.callback_url(self.job.task_id),
        )

        async def find_or_create(key: UpstreamKey) -> UpstreamTask:
            nonlocal ambiguous
            if ambiguous:
                try:
                    return await self.client.find(self.family, self.external_id, key)
                except NotFound:
                    pass
            try:
                return await self.client.create(self.family, body, key)
            except Transient as exc:
                # Refused for rate: nothing was made. Anything else may have been.
                ambiguous = ambiguous or not exc.rate_limited
                raise

        task = await self._retrying(find_or_create, may_switch_key=lambda: not ambiguous)
        self._save(upstream_task_id=task.task_id, upstream_status=task.status)
        log.info(
            "task %s relayed to %s as %s", self.job.task_id, self.engine.upstream, task.task_id
        )
        return task

    async def _until_done(self, task: UpstreamTask) -> UpstreamTask:
        interval = self.engine.config.poll_interval
        shown = ""  # upstream's task_status_msg while it runs, carried over as it changes
        while task.status not in ("succeed", "failed"):
            if task.progress is not None:
                self.progress(min(task.progress, 99) / 100 * 0.9)
            if await self._sleep(interval, wake=self._nudged):
                log.info("task %s: upstream called back; asking it now", self.job.task_id)
            interval = min(interval * 1.5, self.engine.config.max_poll_interval)
            previous = task.status
            task = await self._retrying(partial(self.client.get, self.family, task.task_id))
            if task.status != previous:
                self._save(upstream_status=task.status)
            if task.status_msg != shown and task.status not in ("succeed", "failed"):
                shown = task.status_msg
                self.job.state.note(shown)
        if task.status == "failed":
            self._save(upstream_status=task.status)
            raise EngineError(
                task.status_msg or f"upstream '{self.engine.upstream}' failed the task"
            )
        return task

    async def _retrying(
        self,
        call: Callable[[UpstreamKey], Awaitable[UpstreamTask]],
        may_switch_key: Callable[[], bool] = lambda: False,
    ) -> UpstreamTask:
        """``call(key)`` until it answers: transient trouble waits (Retry-After, else
        exponential backoff) and never ends the task. A rate-limited key rests; before any
        upstream task exists another key of the pool may take over."""
        delay = self.engine.config.poll_interval
        while True:
            key = self._current_key()
            self.progress(0.0)
            try:
                return await call(key)
            except Transient as exc:
                wait = exc.retry_after if exc.retry_after is not None else delay
                if exc.rate_limited:
                    self.engine.keys.rest(key, wait)
                    if may_switch_key() and self._switch_key():
                        continue
                log.warning(
                    "task %s: %s; trying again in %.1f s", self.job.task_id, exc.message, wait
                )
                await self._sleep(wait)
                delay = min(delay * 2, _MAX_BACKOFF)
            except AuthRefused as exc:
                self.engine.keys.mark_unhealthy(key)
                raise EngineError(exc.message) from None
            except Rejected as exc:
                code = f" (code {exc.code})" if exc.code is not None else ""
                raise EngineError(
                    f"upstream '{self.engine.upstream}' refused the task{code}: {exc.message}"
                ) from None
            except NotFound as exc:
                raise EngineError(exc.message) from None

    def _current_key(self) -> UpstreamKey:
        if self.key is None:
            raise EngineError("relay run without a key")
        return self.key

    def _switch_key(self) -> bool:
        """Move to another ready key of the pool (saved before it is used)."""
        try:
            ready, _ = self.engine.keys.ready()
        except NoHealthyKey:
            return False
        others = [
            k for k in ready if self.key is not None and k.fingerprint != self.key.fingerprint
        ]
        other = next((k for k in others if self._take(k)), None)
        if other is None or self.key is None:
            return False
        self.engine.keys.release(self.key)
        self.engine.keys.hold(other)
        self.key = other
        self._save(key=other.fingerprint)
        log.info("task %s: key rate-limited; another key of the pool takes over", self.job.task_id)
        return True

    # ---------------------------------------------------------------- results

    async def _mirror(self, task: UpstreamTask) -> GenerationOutput:
        video = self.job.kind.makes_video
        items = task.videos if video else task.images
        if not items or not all(item.get("url") for item in items):
            raise EngineError(f"upstream '{self.engine.upstream}' succeeded without result URLs")
        limits = FetchLimits(
            max_bytes=self.engine.config.max_result_mb * 1024 * 1024,
            connect_timeout=min(10.0, self.engine.config.request_timeout),
            total_timeout=max(600.0, self.engine.config.request_timeout),
            max_redirects=3,
        )
        http = SafeHttp(self.engine._policy, user_agent="openreel-relay")
        files: list[OutputFile] = []
        try:
            for n, item in enumerate(items):
                field = f"task_result.{'videos' if video else 'images'}[{n}].url"
                duration = str(item.get("duration") or "") or None
                files.append(await self._fetch(http, str(item["url"]), field, n, limits, duration))
                self.progress(0.9 + 0.09 * (n + 1) / len(items))
        finally:
            await http.aclose()
        return GenerationOutput(files=files, final_unit_deduction=task.final_unit_deduction)

    async def _fetch(
        self,
        http: SafeHttp,
        url: str,
        field: str,
        n: int,
        limits: FetchLimits,
        duration: str | None,
    ) -> OutputFile:
        video = self.job.kind.makes_video
        default_ext = ".mp4" if video else ".png"
        ext = Path(urlsplit(url).path).suffix.lower() or default_ext
        if ext not in (".mp4", ".mov", ".webm", ".png", ".jpg", ".jpeg", ".webp"):
            ext = default_ext
        dest = self.job.output_dir / f"result-{n}{ext}"
        delay = self.engine.config.poll_interval
        for attempt in range(1, _MIRROR_TRIES + 1):
            self.progress(0.0)
            try:
                content_type = await http.download(url, field, limits, dest)
                break
            except UrlRefused as exc:
                raise EngineError(f"cannot copy the upstream result: {exc}") from None
            except FetchFailed as exc:
                if attempt == _MIRROR_TRIES:
                    raise EngineError(
                        f"cannot copy the upstream result after {attempt} tries: {exc}"
                    ) from None
                log.warning("task %s: copying %s: %s; retrying", self.job.task_id, field, exc)
                await self._sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF)
        content_type = content_type.split(";")[0].strip() or (
            mimetypes.guess_type(dest.name)[0] or ("video/mp4" if video else "image/png")
        )
        return OutputFile(dest, content_type, duration=duration if video else None)

    # ---------------------------------------------------------------- helpers

    def _save(self, **changes: Any) -> None:
        if self.key is not None:
            changes.setdefault("key", self.key.fingerprint)
        changes.setdefault("upstream", self.engine.upstream)
        self.state = {**self.state, **changes}
        self.job.state.save(self.state)

    def _nudged(self) -> bool:
        """An upstream callback came since the last look (only asked with callbacks on)."""
        if not self.callbacks:
            return False
        nudges = self.job.state.nudges()
        if nudges == self.seen_nudges:
            return False
        self.seen_nudges = nudges
        return True

    async def _sleep(self, seconds: float, wake: Callable[[], bool] = lambda: False) -> bool:
        """Sleep in short steps, reporting to ``progress`` so a stop or cancel is noticed;
        True when ``wake`` cut it short."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            self.progress(0.0)
            if wake():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, 0.5))
