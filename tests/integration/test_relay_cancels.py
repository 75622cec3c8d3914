"""Cancels of relayed tasks at every moment, against the scripted upstream (which counts its
creates and cancels): the task ends ``failed`` at once, the upstream result is never copied,
the cancel is forwarded once when ``forward_cancel`` is on (by the task's worker, the cancel
itself or the reconcile sweep: whoever is next), and the task's engine slot is freed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from openreel.clock import now_ms
from openreel.engines.relay.engine import RelayEngine
from openreel.reconcile import CancelForwarder, Reconciler
from openreel.store.cancels import UpstreamCancels
from openreel.store.slots import SlotRepository
from openreel.store.tables import EngineSlotRow, TaskRow
from openreel.store.tasks import TaskRecord
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.kling_stub import KlingStub, StubTask
from tests.support.polling import wait_task
from tests.support.relay import UPSTREAM_KEY, relayed_app

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"
KEY = UPSTREAM_KEY
CANCEL_1000 = f"{PATH}/1000/cancel"


def relay_api(
    api_factory: Callable[..., Api], stub: KlingStub, workers: int = 1, **config: Any
) -> tuple[Api, dict[str, str]]:
    api = relayed_app(api_factory, stub, workers, **config)
    return api, api.auth(api.new_key())


def create(api: Api, headers: dict[str, str]) -> str:
    body = {"image": image_b64(640, 400), "model_name": "kling-v2-1", "duration": "5"}
    response = api.client.post(PATH, headers=headers, json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["task_id"])


def cancel(api: Api, headers: dict[str, str], task_id: str) -> None:
    response = api.client.post(f"{PATH}/{task_id}/cancel", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["task_status"] == "failed"


def call(api: Api, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    assert api.client.portal is not None
    return api.client.portal.call(lambda: fn(*args, **kwargs))


def row(api: Api, task_id: str) -> TaskRecord:
    found = call(api, api.services.tasks_repo.get, task_id)
    assert isinstance(found, TaskRecord)
    return found


def owed(api: Api, task_id: str) -> str | None:
    """The state of the cancel the task owes upstream (None: none owed)."""
    state: str | None = call(api, UpstreamCancels(api.services.db).state, task_id)
    return state


def slots(api: Api) -> list[str]:
    query = sa.select(EngineSlotRow.task_id)
    return list(call(api, api.services.db.read, lambda conn: conn.execute(query).scalars().all()))


def sweep(api: Api) -> None:
    db = api.services.db
    forwarder = CancelForwarder(api.services.tasks_repo, UpstreamCancels(db), api.services.engines)
    call(api, Reconciler(SlotRepository(db), forwarder).sweep)


def fingerprint(api: Api) -> str:
    engine = api.services.engines["relay:up"]
    assert isinstance(engine, RelayEngine)
    return engine.config.pool[0].fingerprint


def outputs(api: Api, task_id: str) -> list[Path]:
    root = Path(api.services.settings.data_dir) / "blobs" / "outputs" / task_id
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def until(check: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def held_by_a_dead_worker(api: Api, stub: KlingStub, task_id: str, lease_ms: int) -> None:
    """As if a worker claimed the task, created its upstream task (1000, still running),
    took its slot and died: its lease runs out ``lease_ms`` from now."""
    claimed = call(api, api.services.tasks_repo.claim, "dead-worker", 60, 3)
    assert claimed is not None and claimed.id == task_id
    state = {"upstream": "up", "key": fingerprint(api), "creating": True}
    state["upstream_task_id"] = "1000"
    assert call(api, api.services.tasks_repo.save_engine_state, claimed, "dead-worker", state)
    taken = SlotRepository(api.services.db).take
    assert call(api, taken, task_id, "dead-worker", "relay:up", fingerprint(api), 5, None)
    stub.tasks["1000"] = StubTask(
        task_id="1000",
        family="videos/image2video",
        body={"external_task_id": f"openreel-{task_id}"},
        authorization=f"Bearer {KEY}",
        polls_left=10_000,
        status="processing",
    )
    stmt = (
        sa.update(TaskRow).where(TaskRow.id == task_id).values(lease_expires_at=now_ms() + lease_ms)
    )
    call(api, api.services.db.write, lambda conn: conn.execute(stmt))


@pytest.mark.parametrize("forward", [True, False])
def test_cancel_after_the_worker_died_is_forwarded_at_once_and_once(
    api_factory: Callable[..., Api], stub: KlingStub, forward: bool
) -> None:
    api, headers = relay_api(api_factory, stub, workers=0, forward_cancel=forward)
    task_id = create(api, headers)
    held_by_a_dead_worker(api, stub, task_id, lease_ms=-1000)
    assert slots(api) == [task_id]
    cancel(api, headers, task_id)
    # No worker holds the task: the cancel itself sent it, before answering.
    assert [r.path for r in stub.cancels] == ([CANCEL_1000] if forward else [])
    assert stub.tasks["1000"].status == ("failed" if forward else "processing")
    assert owed(api, task_id) == "sent"
    assert slots(api) == []
    sweep(api)
    sweep(api)
    assert len(stub.cancels) == (1 if forward else 0)  # never twice
    assert stub.creates == [] and not any(
        r.path.startswith("/results/") for r in stub.http.requests
    )
    data = wait_task(api.client, PATH, task_id, headers)
    assert data["task_status"] == "failed" and data["task_result"] == {}


def test_cancel_while_a_worker_held_it_is_sent_by_the_sweep_once_its_lease_ran_out(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    api, headers = relay_api(api_factory, stub, workers=0, forward_cancel=True)
    task_id = create(api, headers)
    held_by_a_dead_worker(api, stub, task_id, lease_ms=1000)
    cancel(api, headers, task_id)
    # Its worker (alive, for all the cancel knows) sends it; nobody else before its lease ends.
    assert stub.cancels == [] and owed(api, task_id) == "pending"
    sweep(api)
    assert stub.cancels == []
    assert slots(api) == []
    # The worker never did (it died): once the lease would have run out, the sweep does.
    until(lambda: now_ms() > 1000 + row(api, task_id).updated_at, "time stands still", 10)
    sweep(api)
    sweep(api)
    assert [r.path for r in stub.cancels] == [CANCEL_1000]
    assert owed(api, task_id) == "sent" and row(api, task_id).status == "failed"


def test_cancel_of_a_queued_task_owes_nothing_upstream(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    api, headers = relay_api(api_factory, stub, workers=0, forward_cancel=True)
    task_id = create(api, headers)
    cancel(api, headers, task_id)
    sweep(api)
    assert owed(api, task_id) is None
    assert stub.http.requests == []
    assert row(api, task_id).status == "failed"


@pytest.mark.parametrize("forward", [True, False])
def test_cancel_while_the_create_is_in_flight(
    api_factory: Callable[..., Api], stub: KlingStub, forward: bool
) -> None:
    stub.create_delay, stub.polls_to_finish = 1.5, 1
    api, headers = relay_api(api_factory, stub, forward_cancel=forward)
    task_id = create(api, headers)
    until(lambda: stub.creates, "never created upstream")
    cancel(api, headers, task_id)
    # The create's answer comes after the cancel: its task id is never stored, never polled,
    # its result never copied; the worker sends the cancel with the id it was just given.
    # (The claim comes before the send.)
    until(lambda: owed(api, task_id) == "sent", "the worker never handled the cancel")
    until(lambda: stub.cancels or not forward, "the cancel was never forwarded")
    assert [r.path for r in stub.cancels] == ([CANCEL_1000] if forward else [])
    assert len(stub.creates) == 1 and len(stub.tasks) == 1
    assert not any(r.method == "GET" for r in stub.http.requests)
    data = wait_task(api.client, PATH, task_id, headers)
    assert data["task_status"] == "failed" and data["task_result"] == {}
    assert "upstream_task_id" not in row(api, task_id).plan["engine_state"]
    assert slots(api) == [] and outputs(api, task_id) == []
    sweep(api)
    assert len(stub.cancels) == (1 if forward else 0)


def test_cancel_after_a_dropped_create_answer_finds_the_upstream_task(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.drop_create_answers, stub.polls_to_finish = 1, 1
    # The retry after the lost answer waits 30 s: the cancel comes first.
    api, headers = relay_api(api_factory, stub, forward_cancel=True, poll_interval=30)
    task_id = create(api, headers)
    until(lambda: stub.creates, "never created upstream")
    cancel(api, headers, task_id)
    until(lambda: stub.cancels, "the cancel was never forwarded")
    # Found by external_task_id, cancelled, never created twice nor copied.
    assert [r.path for r in stub.cancels] == [CANCEL_1000]
    lookups = [r.path for r in stub.http.requests if "external_task_id=" in r.path]
    assert lookups == [f"{PATH}?external_task_id=openreel-{task_id}"]
    assert len(stub.creates) == 1 and stub.tasks["1000"].status == "failed"
    assert row(api, task_id).status == "failed" and slots(api) == []


def test_a_result_arriving_after_the_cancel_is_discarded(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.polls_to_finish, stub.result_delay = 1, 1.5
    api, headers = relay_api(api_factory, stub)
    task_id = create(api, headers)
    until(
        lambda: any(r.path.startswith("/results/") for r in stub.http.requests),
        "the result was never fetched",
    )
    cancel(api, headers, task_id)
    until(lambda: owed(api, task_id) == "sent", "the worker never stopped")
    data = wait_task(api.client, PATH, task_id, headers)
    assert data["task_status"] == "failed" and data["task_result"] == {}
    stored = row(api, task_id)
    assert stored.result is None and stored.status == "failed"
    assert outputs(api, task_id) == []
    assert list((Path(api.services.settings.data_dir) / "work").rglob("result-*")) == []
    assert slots(api) == []
