"""What every client operation does, written once for the sync and the async client.

Each operation is a generator that yields I/O requests (``Call``: one API request;
``Fetch``: stream a URL into a file; ``Sleep``) and receives their outcomes; the client
(``Client`` or ``AsyncClient``) only performs them. Retries, backoff, idempotent creates,
waiting and resumable downloads are decided here.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from openreel.sdk.config import ClientConfig
from openreel.sdk.errors import (
    InvalidRequestError,
    OpenreelError,
    TaskFailedError,
    TransportError,
    WaitTimeoutError,
    error_for,
)
from openreel.sdk.models import Endpoint, Task
from openreel.sdk.refs import TaskRef
from openreel.wire.account import AccountCosts

__all__ = [
    "Answer",
    "account_costs",
    "Broken",
    "Call",
    "Fetch",
    "Fetched",
    "Flow",
    "RetryPolicy",
    "Sleep",
    "WaitOptions",
    "cancel",
    "create",
    "current",
    "download",
    "download_targets",
    "get",
    "list_page",
    "wait",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or None when the body is not JSON
    headers: dict[str, str]


@dataclass(frozen=True)
class Broken:
    """The request did not get an answer (connect error, dropped connection, timeout)."""

    reason: str


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Fetch:
    """GET ``url`` (no credentials: result links are signed) appending to ``path`` from
    byte ``offset`` (a Range request when ``offset`` > 0)."""

    url: str
    path: Path
    offset: int


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]  # the file on disk says how much arrived


Op = Call | Sleep | Fetch
Outcome = Answer | Broken | Fetched | None
Flow = Generator[Op, Outcome, T]


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # extra attempts after the first
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        backoff = min(self.max_delay, self.base_delay * 2.0**attempt) * random.uniform(0.8, 1.2)  # noqa: S311
        if retry_after:
            try:
                return max(backoff, min(float(retry_after), self.max_retry_after))
            except ValueError:
                pass
        return backoff


# Kling's 429s for the account (1100-1102: state, arrears, resource pack) do not pass by waiting.
_ACCOUNT_CODES = frozenset({1100, 1101, 1102})


def _retryable(answer: Answer) -> bool:
    if answer.status == 429:
        body = answer.body
        return not (isinstance(body, dict) and body.get("code") in _ACCOUNT_CODES)
    return answer.status >= 500


def api(config: ClientConfig, call: Call, policy: RetryPolicy) -> Flow[Any]:
    """One API request with retries on network errors, 429 and 5xx; returns ``data``."""
    attempt = 0
    while True:
        outcome = yield call
        if isinstance(outcome, Broken):
            if attempt >= policy.retries:
                raise TransportError(f"{call.method} {call.url}: {outcome.reason}")
            yield Sleep(policy.delay(attempt))
        elif isinstance(outcome, Answer):
            body = outcome.body
            request_id = outcome.headers.get("x-request-id")
            if 200 <= outcome.status < 300 and isinstance(body, dict) and body.get("code") == 0:
                return body.get("data")
            if not (_retryable(outcome) and attempt < policy.retries):
                if 200 <= outcome.status < 300:
                    raise error_for(500, body, request_id)  # a 200 without Kling's envelope
                raise error_for(outcome.status, body, request_id)
            yield Sleep(policy.delay(attempt, outcome.headers.get("retry-after")))
        else:
            raise TypeError(f"unexpected outcome {outcome!r}")
        attempt += 1


def create(
    config: ClientConfig, endpoint: Endpoint, body: dict[str, Any], policy: RetryPolicy
) -> Flow[Task]:
    """Create a task. The body carries an ``external_task_id`` (generated when absent), so
    sending it again after a lost answer returns the task already made, not a second one."""
    body = dict(body)
    body.setdefault("external_task_id", f"openreel-sdk-{uuid.uuid4().hex}")
    url = config.url(endpoint.path(config.comet_style))
    try:
        data = yield from api(config, Call("POST", url, json=body), policy)
    except InvalidRequestError:
        # A server that refuses a repeated external_task_id (instead of returning the task)
        # answers a retry with an error although the first attempt created the task.
        existing = yield from _find_external(config, endpoint, body["external_task_id"], policy)
        if existing is None:
            raise
        return existing
    return Task.of(data, endpoint)


def _find_external(
    config: ClientConfig, endpoint: Endpoint, external_id: str, policy: RetryPolicy
) -> Flow[Task | None]:
    try:
        return (yield from get(config, endpoint, external_id, policy))
    except OpenreelError:
        return None


def get(config: ClientConfig, endpoint: Endpoint, task_id: str, policy: RetryPolicy) -> Flow[Task]:
    """A task by ``task_id`` (or by your ``external_task_id``)."""
    path = f"{endpoint.path(config.comet_style)}/{task_id}"
    data = yield from api(config, Call("GET", config.url(path)), policy)
    return Task.of(data, endpoint)


def current(config: ClientConfig, ref: TaskRef, policy: RetryPolicy) -> Flow[Task]:
    """The ``Task`` the caller passed, else the task fetched by its id."""
    if ref.task is not None:
        return ref.task
    return (yield from get(config, ref.endpoint, ref.task_id, policy))


def cancel(
    config: ClientConfig, endpoint: Endpoint, task_id: str, policy: RetryPolicy
) -> Flow[Task]:
    """Cancel a submitted or processing task (openreel's extension route): it ends ``failed``.
    A task that already ended is refused with 1201 (``InvalidRequestError``)."""
    path = f"{endpoint.path(config.comet_style)}/{task_id}/cancel"
    data = yield from api(config, Call("POST", config.url(path)), policy)
    return Task.of(data, endpoint)


def list_page(
    config: ClientConfig, endpoint: Endpoint, page: int, size: int, policy: RetryPolicy
) -> Flow[list[Task]]:
    """One page of tasks, newest first."""
    call = Call(
        "GET",
        config.url(endpoint.path(config.comet_style)),
        params={"pageNum": page, "pageSize": size},
    )
    data = yield from api(config, call, policy)
    return [Task.of(item, endpoint) for item in data or []]


def account_costs(
    config: ClientConfig,
    start_time: int,
    end_time: int,
    resource_pack_name: str | None,
    policy: RetryPolicy,
) -> Flow[AccountCosts]:
    """The key's resource packs and what is left of them (``GET /account/costs``)."""
    params: dict[str, Any] = {"start_time": start_time, "end_time": end_time}
    if resource_pack_name is not None:
        params["resource_pack_name"] = resource_pack_name
    data = yield from api(config, Call("GET", config.url("account/costs"), params=params), policy)
    return AccountCosts.model_validate(data)


@dataclass
class WaitOptions:
    timeout: float | None = 600.0  # seconds; None waits forever
    interval: float = 0.5  # first poll delay, growing by half each time
    max_interval: float = 5.0
    on_progress: Callable[[Task], None] | None = None
    raise_on_failure: bool = True
    clock: Callable[[], float] = field(default=time.monotonic)


def wait(config: ClientConfig, task: Task, options: WaitOptions, policy: RetryPolicy) -> Flow[Task]:
    """Poll until the task ends; ``TaskFailedError`` if it failed (unless told not to),
    ``WaitTimeoutError`` when the deadline passes first."""
    started = options.clock()
    delay = options.interval
    while True:
        if options.on_progress is not None:
            options.on_progress(task)
        if task.is_done:
            if options.raise_on_failure and task.task_status == "failed":
                raise TaskFailedError(task)
            return task
        if options.timeout is not None:
            left = options.timeout - (options.clock() - started)
            if left <= 0:
                raise WaitTimeoutError(task, options.timeout)
            delay = min(delay, left)
        yield Sleep(delay)
        delay = min(options.max_interval, delay * 1.5)
        task = yield from get(config, task.endpoint, task.task_id, policy)


_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG


def _looks_like(kind: str, head: bytes) -> bool:
    if kind == "video":
        return head[4:8] == b"ftyp"  # MP4: the ftyp box type at offset 4
    return head.startswith(_IMAGE_SIGNATURES)


def download(url: str, path: Path, kind: str, policy: RetryPolicy) -> Flow[Path]:
    """Stream ``url`` to ``path`` through ``path.partial``, resuming after a broken transfer
    (Range requests), checking the length and that the file is the expected kind."""
    partial = path.with_name(path.name + ".partial")
    attempt = 0
    total: int | None = None
    while True:
        offset = partial.stat().st_size if partial.exists() else 0
        outcome = yield Fetch(url, partial, offset)
        if isinstance(outcome, Fetched):
            if outcome.status == 416 and total is not None and offset == total:
                break  # nothing left to fetch
            if outcome.status not in (200, 206):
                raise error_for(outcome.status, None, None)
            total = _total_size(outcome, offset)
            size = partial.stat().st_size
            if total is None or size == total:
                break
            reason = f"transfer ended at {size} of {total} bytes"
        elif isinstance(outcome, Broken):
            reason = outcome.reason
        else:
            raise TypeError(f"unexpected outcome {outcome!r}")
        if attempt >= policy.retries:
            raise TransportError(f"download of {url} failed: {reason}")
        yield Sleep(policy.delay(attempt))
        attempt += 1
    with partial.open("rb") as file:
        head = file.read(16)
    if not _looks_like(kind, head):
        partial.unlink(missing_ok=True)
        raise TransportError(f"download of {url} is not a {kind} file")
    partial.replace(path)
    return path


def _total_size(fetched: Fetched, offset: int) -> int | None:
    if fetched.status == 206:
        content_range = fetched.headers.get("content-range", "")  # bytes a-b/total
        total = content_range.rsplit("/", 1)[-1]
        return int(total) if total.isdigit() else None
    length = fetched.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def download_targets(task: Task, dest: Path | None) -> list[tuple[str, Path, str]]:
    """(url, file, kind) for each result of ``task``. ``dest``: a file for a single result,
    else a directory (made if needed); default the current directory."""
    urls = task.urls
    if not urls:
        raise OpenreelError(f"task {task.task_id} has no results (it is {task.task_status})")
    kind = "video" if task.task_result.videos else "image"
    dest = Path.cwd() if dest is None else Path(dest)
    if len(urls) == 1 and not dest.is_dir() and dest.suffix:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return [(urls[0], dest, kind)]
    dest.mkdir(parents=True, exist_ok=True)
    targets = []
    for index, url in enumerate(urls):
        suffix = ".mp4" if kind == "video" else _image_suffix(url)
        name = task.task_id if len(urls) == 1 else f"{task.task_id}-{index}"
        targets.append((url, dest / f"{name}{suffix}", kind))
    return targets


def _image_suffix(url: str) -> str:
    path = url.split("?", 1)[0].lower()
    return ".jpg" if path.endswith((".jpg", ".jpeg")) else ".png"
