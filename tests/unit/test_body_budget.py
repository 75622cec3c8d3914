"""Large request bodies reach the app only while the bodies in flight add up to at most the
budget (one largest body by default); small ones never wait. Without it 8 concurrent creates
of 8 maximum-size pictures held 2.5 GiB in the API process (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from openreel.api.body_limit import BUDGET_FROM, BodyBudget, BodyLimitMiddleware

MIB = 1024 * 1024


class Recorder:
    """An ASGI app that reads the whole body, then stays a while, counting overlaps."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.sizes: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        size, more = 0, True
        while more:
            message = await receive()
            size += len(message.get("body", b""))
            more = bool(message.get("more_body", False))
        self.inside += 1
        self.most = max(self.most, self.inside)
        await asyncio.sleep(0.05)
        self.inside -= 1
        self.sizes.append(size)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def post_all(app: BodyLimitMiddleware, bodies: list[bytes], chunked: bool) -> list[int]:
    async def streamed(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://openreel") as client:
        answers = await asyncio.gather(
            *(
                client.post("/v1/videos/image2video", content=streamed(b) if chunked else b)
                for b in bodies
            )
        )
    return [answer.status_code for answer in answers]


@pytest.mark.parametrize("chunked", [False, True])
async def test_large_bodies_enter_one_budget_at_a_time(chunked: bool) -> None:
    recorder = Recorder()
    app = BodyLimitMiddleware(recorder, max_bytes=8 * MIB, in_flight_bytes=5 * MIB)
    codes = await post_all(app, [b"x" * (3 * MIB)] * 4, chunked)
    assert codes == [200] * 4
    assert recorder.sizes == [3 * MIB] * 4  # every body arrived whole
    assert recorder.most == 1  # 3 + 3 MiB is over the 5 MiB budget
    assert app.budget.in_flight == 0


async def test_bodies_that_fit_together_run_together() -> None:
    recorder = Recorder()
    app = BodyLimitMiddleware(recorder, max_bytes=8 * MIB, in_flight_bytes=5 * MIB)
    codes = await post_all(app, [b"x" * (2 * MIB)] * 4, chunked=False)
    assert codes == [200] * 4
    assert recorder.most == 2


async def test_small_bodies_never_wait() -> None:
    recorder = Recorder()
    app = BodyLimitMiddleware(recorder, max_bytes=8 * MIB, in_flight_bytes=BUDGET_FROM)
    small = b"x" * (BUDGET_FROM - 1)
    codes = await post_all(app, [small] * 6, chunked=False)
    assert codes == [200] * 6
    assert recorder.most == 6


async def test_a_body_as_large_as_the_budget_gets_through_alone() -> None:
    budget = BodyBudget(capacity=10)
    async with budget.hold(10):
        assert budget.in_flight == 10
    async with budget.hold(25):  # larger than the budget, nothing else in flight
        assert budget.in_flight == 25
    assert budget.in_flight == 0


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    budget = BodyBudget(capacity=10)
    order: list[str] = []

    async def take(name: str, size: int) -> None:
        async with budget.hold(size):
            order.append(name)
            await asyncio.sleep(0.01)

    async with budget.hold(8):
        first = asyncio.create_task(take("first", 5))
        second = asyncio.create_task(take("second", 5))
        await asyncio.sleep(0.01)
        first.cancel()
        await asyncio.sleep(0.01)
        assert order == []  # still waiting for the 8 in flight
    await second
    assert order == ["second"]
    assert first.cancelled()
    assert budget.in_flight == 0


async def test_by_default_bodies_share_half_the_body_limit() -> None:
    recorder = Recorder()
    app = BodyLimitMiddleware(recorder, max_bytes=8 * MIB)  # budget: 4 MiB
    codes = await post_all(app, [b"x" * (3 * MIB)] * 3 + [b"x" * (7 * MIB)], chunked=False)
    assert codes == [200] * 4
    assert recorder.most == 1  # 3 + 3 MiB is over 4 MiB; the 7 MiB body went alone
    assert sorted(recorder.sizes) == [3 * MIB] * 3 + [7 * MIB]
