"""The callback sender: delivers outbox events to ``callback_url``s, retrying until they land.

Runs in the API process (the embedded mode; GPU workers never need egress). Each event is
POSTed as Kling's callback body, signed with Standard Webhooks headers when a secret is set.

- 2xx: delivered. 410: stop (this event and the task's later ones to that URL).
- Anything else (3xx included: redirects are never followed), a network error or a timeout:
  retried after the next delay of the retry schedule (the first attempt is immediate), plus
  up to 10 % jitter; a ``Retry-After`` on
  429/503 is honoured when it asks for longer. When the schedule is spent the event is
  ``failed``; a URL the address policy refuses fails at once (retrying cannot help).
- Pending events survive restarts: they live in the database, claimed with a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openreel.clock import now_ms
from openreel.metrics import Metrics
from openreel.net.safe_http import FetchFailed, SafeHttp, UrlRefused
from openreel.store.client_tasks import TaskView
from openreel.store.events import Attempt, EventRepository, Outcome
from openreel.store.outbox import EventState
from openreel.store.tables import CallbackEventRow
from openreel.tasks.presenter import task_data
from openreel.wire.webhook_signing import webhook_headers

log = logging.getLogger("openreel.callbacks")

SecretsFor = Callable[[str], Awaitable[Sequence[str]]]
UrlFor = Callable[[str, str | None], str]

_JITTER = 0.1
_MIN_WAIT_S = 0.005
_MAX_RETRY_AFTER_S = 24 * 3600
FIELD = "callback_url"


@dataclass(frozen=True)
class SenderConfig:
    schedule: Sequence[float]  # seconds before retry 1, 2, ... (the first attempt is at once)
    timeout: float
    connect_timeout: float
    concurrency: int
    poll_interval: float  # how often other processes' new events are looked for

    @property
    def lease_seconds(self) -> float:
        # An attempt ends within the timeout; then it is settled. If its sender died, another
        # takes the event once the lease runs out.
        return self.timeout + 10.0


def callback_body(event: dict[str, Any], url_for: UrlFor) -> bytes:
    """Kling's callback body: the task's fields at top level (not the API envelope), rendered
    by the same presenter as polls, from the task as it was at the change."""
    view = TaskView(
        id=event["task_id"],
        family=event["family"],
        status=event["task_status"],
        status_msg=event.get("task_status_msg") or "",
        progress=event.get("progress") or 0,
        external_task_id=event.get("external_task_id"),
        result=event.get("result"),
        created_at=event["created_at"],
        updated_at=event["updated_at"],
        request_hash="",
        engine="",  # not shown on the wire
        queue_position=None,  # a place in the queue is stale by the time a callback lands
        watermark=bool(event.get("watermark")),
        price_milli=event.get("price_milli"),
    )
    base = event.get("base_url")
    body = task_data(view, lambda key: url_for(key, base))
    return json.dumps(body, separators=(",", ":")).encode()


# The attempt's outcome as the metric names it (PENDING again: a retry is scheduled).
_OUTCOME_LABELS = {
    EventState.DELIVERED: "delivered",
    EventState.PENDING: "retry",
    EventState.FAILED: "failed",
    EventState.GONE: "gone",
}


class CallbackSender:
    def __init__(
        self,
        repo: EventRepository,
        http: SafeHttp,
        config: SenderConfig,
        secrets_for: SecretsFor,
        url_for: UrlFor,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.repo = repo
        self.http = http
        self.config = config
        self.secrets_for = secrets_for
        self.url_for = url_for
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False

    def notify(self) -> None:
        """An event was queued by this process: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="openreel-callbacks")

    async def stop(self) -> None:
        """Stop claiming; let attempts under way finish (each is bounded by the timeout)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=self.config.timeout + 1)
        for task in self._inflight:
            task.cancel()  # its lease runs out and the event is sent again after a restart

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                room = self.config.concurrency - len(self._inflight)
                claimed = await self.repo.claim_due(room, int(self.config.lease_seconds * 1000))
                for delivery in claimed:
                    task = asyncio.create_task(self._deliver(delivery))
                    self._inflight.add(task)
                    task.add_done_callback(self._finished)
                wait = await self._idle_seconds() if not claimed else 0.0
            except Exception:
                log.exception("callback sender: outbox query failed; retrying")
                wait = self.config.poll_interval
            # Always yield: on SQLite the queries above run inline and never suspend.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, _MIN_WAIT_S))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # room for another, and the task's next event may be due

    async def _idle_seconds(self) -> float:
        if len(self._inflight) >= self.config.concurrency:
            return self.config.poll_interval
        due = await self.repo.next_due_at()
        if due is None:
            return self.config.poll_interval
        return min(self.config.poll_interval, max(0.0, (due - now_ms()) / 1000))

    async def _deliver(self, delivery: CallbackEventRow) -> None:
        started = now_ms()
        status: int | None = None
        retry_after: float | None = None
        error = ""
        permanent = False
        try:
            body = callback_body(delivery.event, self.url_for)
            secrets = await self.secrets_for(delivery.owner_id)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                **webhook_headers(secrets, delivery.id, int(time.time()), body),
            }
            result = await self.http.post(
                delivery.url,
                body,
                headers,
                FIELD,
                timeout=self.config.timeout,
                connect_timeout=self.config.connect_timeout,
            )
            status, retry_after = result.status_code, result.retry_after
        except UrlRefused as exc:
            error, permanent = exc.reason, True
        except FetchFailed as exc:
            error = exc.reason
        except Exception as exc:
            log.exception("callback %s: unexpected error", delivery.id)
            error = f"internal error: {exc}"
        attempt = Attempt(started, now_ms() - started, status, error)
        outcome = self._outcome(delivery, status, retry_after, error, permanent)
        log.info(
            "callback attempt %d: %s%s",
            outcome.attempts,
            _OUTCOME_LABELS[outcome.state],
            f" ({outcome.error})" if outcome.error else "",
            extra={
                "event": "callback.attempt",
                "task_id": delivery.task_id,
                "key_id": delivery.owner_id,
                "callback_id": delivery.id,
                "task_status": delivery.task_status,
                "outcome": _OUTCOME_LABELS[outcome.state],
                "http_status": status,
                "attempt": outcome.attempts,
                "duration_ms": attempt.duration_ms,
            },
        )
        if self.metrics is not None:
            self.metrics.callback_deliveries.labels(_OUTCOME_LABELS[outcome.state]).inc()
        try:
            if not await self.repo.settle(delivery, attempt, outcome):
                log.warning("callback %s: lease lost before settling", delivery.id)
        except Exception:
            log.exception("callback %s: could not record the attempt", delivery.id)

    def _outcome(
        self,
        delivery: CallbackEventRow,
        status: int | None,
        retry_after: float | None,
        error: str,
        permanent: bool,
    ) -> Outcome:
        now = now_ms()
        attempts = delivery.attempts + 1
        if status is not None and 200 <= status < 300:
            return Outcome(EventState.DELIVERED, attempts, now, status, "")
        if status == 410:
            return Outcome(EventState.GONE, attempts, now, status, "receiver answered 410 Gone")
        if status is not None:
            error = f"HTTP {status}" + (" (redirects are not followed)" if status < 400 else "")
        schedule = self.config.schedule
        if permanent or attempts > len(schedule):
            if not permanent:
                error = f"{error}; gave up after {attempts} attempts"
            return Outcome(EventState.FAILED, attempts, now, status, error)
        delay = schedule[attempts - 1] * (1 + random.uniform(0, _JITTER))  # noqa: S311 (jitter, not a secret)
        if retry_after is not None and status in (429, 503):
            delay = max(delay, min(retry_after, _MAX_RETRY_AFTER_S))
        return Outcome(EventState.PENDING, attempts, now + int(delay * 1000), status, error)
