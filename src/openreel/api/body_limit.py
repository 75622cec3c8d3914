"""The request body cap, enforced before anything parses or buffers a body.

A body that declares a ``Content-Length`` over the cap is refused before one byte of it is
read. A body without one (chunked) is copied to a spool file that stays in memory only while
small, counting bytes; past the cap it is refused, otherwise the spooled body is replayed to
the app. Either way an oversize body never sits in memory: the answer is HTTP 413 with Kling's
error body (1201, naming ``body``). The rest of a refused body is read and dropped (up to
``DRAIN_FACTOR`` times the cap) so that a client still busy sending sees the answer instead of
a reset connection.

Bodies under the cap are also what fills the API's memory: while a create runs, its body is
held as bytes, again as the parsed JSON's strings, and its images again decoded (about three
times the body). So large bodies (``BUDGET_FROM`` bytes and up) reach the app only while the
bodies in flight add up to at most half the cap (``BodyBudget``), or one body alone when it
is larger; the others wait before a byte of theirs is read (the server stops reading
a socket whose body is not consumed). Measured: 8 concurrent creates carrying 8 pictures at
the limit (111 MB each) peaked at 2.5 GiB without this, 583 MiB with it
(bench/max_size_memory.py, docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections import deque
from collections.abc import AsyncIterator
from typing import IO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openreel.api.errors import error_response
from openreel.wire.errors import ErrorCode

__all__ = ["BodyBudget", "BodyLimitMiddleware"]

SPOOL_IN_MEMORY = 1024 * 1024  # a chunked body larger than this goes to a temporary file
REPLAY_CHUNK = 256 * 1024
DRAIN_FACTOR = 4
BUDGET_FROM = 1024 * 1024  # smaller bodies (URL creates, small pictures) never wait


class BodyBudget:
    """Bytes of request bodies the app may be holding at once. A body is let in when it fits
    beside those in flight, or when none is in flight (so one body as large as the budget
    always gets through); waiters are let in first come, first served."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_flight = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @contextlib.asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        await self._acquire(size)
        try:
            yield
        finally:
            self._release(size)

    def _fits(self, size: int) -> bool:
        return self.in_flight == 0 or self.in_flight + size <= self.capacity

    async def _acquire(self, size: int) -> None:
        if not self._waiters and self._fits(size):
            self.in_flight += size
            return
        admitted = asyncio.get_running_loop().create_future()
        self._waiters.append((size, admitted))
        try:
            await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():
                self._release(size)  # let in just as the request went away
            else:
                self._wake()  # it may have been the head of the line
            raise

    def _release(self, size: int) -> None:
        self.in_flight -= size
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            size, admitted = self._waiters[0]
            if admitted.done():  # cancelled while waiting
                self._waiters.popleft()
                continue
            if not self._fits(size):
                return
            self._waiters.popleft()
            self.in_flight += size
            admitted.set_result(None)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, in_flight_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # A create peaks at ~3x its body: a body of the largest size goes alone, smaller ones
        # share half of that, so a mix never holds more than the largest body alone does.
        self.budget = BodyBudget(in_flight_bytes or max_bytes // 2)

    def _held(self, size: int) -> contextlib.AbstractAsyncContextManager[None]:
        return self.budget.hold(size) if size >= BUDGET_FROM else contextlib.nullcontext()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                if declared <= DRAIN_FACTOR * self.max_bytes:
                    await _drain(receive, declared)
                await self._refuse(scope, receive, send)
                return
            async with self._held(declared):
                await self.app(scope, receive, send)  # the server enforces the declared length
            return
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            size, more = await _spool(receive, spool, self.max_bytes)
            if size > self.max_bytes:
                if more:
                    await _drain(receive, DRAIN_FACTOR * self.max_bytes - size)
                await self._refuse(scope, receive, send)
                return
            spool.seek(0)
            async with self._held(size):
                await self.app(scope, _replay(spool, size, receive), send)
        finally:
            spool.close()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            ErrorCode.ILLEGAL_VALUE,
            f"body: the request body is larger than {self.max_bytes} bytes, the most a request "
            "can need (every image at 10 MB, as base64); send large images as URLs",
            status=413,
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # malformed: the server itself answers 400
    return None


async def _spool(receive: Receive, spool: IO[bytes], limit: int) -> tuple[int, bool]:
    """Copy body chunks into ``spool`` until the end or until past ``limit``:
    (bytes seen, whether more body follows)."""
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return size, False  # the client went away
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if size > limit:
            return size, more
        spool.write(chunk)
        if not more:
            return size, False


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop up to ``budget`` more bytes of the body."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _replay(spool: IO[bytes], size: int, receive: Receive) -> Receive:
    done = False

    async def replayed() -> Message:
        nonlocal done
        if done:
            return await receive()  # e.g. http.disconnect while the app streams its answer
        chunk = spool.read(REPLAY_CHUNK)
        done = spool.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return replayed
