"""A scripted Kling-wire upstream for the relay engine's tests: tasks kept in memory, queries
by task id and by ``external_task_id``, result files served at ``/results/...``, and faults
injected by a test (rate limits, 5xx bursts, dropped answers, failures, refused keys).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.http_stub import HttpStub, Recorded, Reply

VIDEO_BYTES = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64
PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def envelope(data: Any, code: int = 0, message: str = "SUCCEED") -> bytes:
    return json.dumps({"code": code, "message": message, "request_id": "r", "data": data}).encode()


def error(status: int, code: int, message: str, **headers: str) -> Reply:
    body = json.dumps({"code": code, "message": message, "request_id": "r"}).encode()
    return Reply(status, body, {"Content-Type": "application/json", **headers})


@dataclass
class StubTask:
    task_id: str
    family: str
    body: dict[str, Any]
    authorization: str
    polls_left: int
    status: str = "submitted"


@dataclass
class KlingStub:
    """``faults(request) -> Reply | None`` answers before the normal handling when it returns a
    reply; ``drop_create_answers`` creates the task but cuts that many create answers off."""

    prefix: str = "/v1"
    polls_to_finish: int = 2
    final_status: str = "succeed"
    final_msg: str = ""
    faults: Callable[[Recorded], Reply | None] = lambda _: None
    drop_create_answers: int = 0
    result_404s: int = 0
    processing_msg: str = ""  # task_status_msg while a task is processing
    create_delay: float = 0.0  # seconds before a create is answered (the task exists already)
    result_delay: float = 0.0  # seconds before a result file is served
    tasks: dict[str, StubTask] = field(default_factory=dict)
    max_running: int = 0
    # The most tasks running at once per Authorization header (one key's tasks).
    max_running_by_key: dict[str, int] = field(default_factory=dict)
    units: str = "1.5"  # the final_unit_deduction a succeeded task reports
    cancel_reply: Reply | None = None  # answers every POST .../cancel instead of cancelling

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.http = HttpStub(self._route)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()

    @property
    def creates(self) -> list[Recorded]:
        return [
            r for r in self.http.requests if r.method == "POST" and not r.path.endswith("/cancel")
        ]

    @property
    def cancels(self) -> list[Recorded]:
        return [r for r in self.http.requests if r.method == "POST" and r.path.endswith("/cancel")]

    def _running(self) -> int:
        return sum(1 for t in self.tasks.values() if t.status in ("submitted", "processing"))

    def _data(self, task: StubTask) -> dict[str, Any]:
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "task_status": task.status,
            "task_status_msg": {"failed": self.final_msg, "processing": self.processing_msg}.get(
                task.status, ""
            ),
            "task_info": {"external_task_id": task.body.get("external_task_id")},
            "task_result": {},
            "created_at": 1,
            "updated_at": 2,
        }
        if task.status == "succeed":
            if task.family.startswith("videos/"):
                url = f"{self.url}/results/{task.task_id}.mp4"
                data["task_result"] = {"videos": [{"id": "v1", "url": url, "duration": "5"}]}
            else:
                n = int(task.body.get("n") or 1)
                data["task_result"] = {
                    "images": [
                        {"index": i, "url": f"{self.url}/results/{task.task_id}-{i}.png"}
                        for i in range(n)
                    ]
                }
            data["final_unit_deduction"] = self.units
        return data

    def _route(self, request: Recorded) -> Reply:
        injected = self.faults(request)
        if injected is not None:
            return injected
        url = urllib.parse.urlsplit(request.path)
        if url.path.startswith("/results/"):
            with self._lock:
                if self.result_404s > 0:
                    self.result_404s -= 1
                    return Reply(404, b"gone")
            kind = "video/mp4" if url.path.endswith(".mp4") else "image/png"
            body = VIDEO_BYTES if kind == "video/mp4" else PNG_HEADER + url.path.encode()
            return Reply(200, body, {"Content-Type": kind}, delay=self.result_delay)
        if not url.path.startswith(self.prefix + "/"):
            return error(404, 1202, "no such path")
        rest = url.path[len(self.prefix) + 1 :]
        parts = rest.split("/")
        family = "/".join(parts[:2])
        with self._lock:
            if request.method == "POST" and len(parts) == 4 and parts[3] == "cancel":
                return self._cancel(parts[2])
            if request.method == "POST":
                return self._create(request, family)
            if len(parts) == 3:
                task = self.tasks.get(parts[2])
                if task is None:
                    return error(404, 1203, "task not found")
                self._advance(task)
                return Reply(200, envelope(self._data(task)))
            wanted = urllib.parse.parse_qs(url.query).get("external_task_id", [""])[0]
            for task in self.tasks.values():
                if task.body.get("external_task_id") == wanted:
                    return Reply(200, envelope(self._data(task)))
            return error(404, 1203, "task not found")

    def _cancel(self, task_id: str) -> Reply:
        """openreel's cancel extension, as an openreel upstream answers it."""
        if self.cancel_reply is not None:
            return self.cancel_reply
        task = self.tasks.get(task_id)
        if task is None:
            return error(404, 1203, "task not found")
        task.status = "failed"
        return Reply(200, envelope(self._data(task)))

    def _create(self, request: Recorded, family: str) -> Reply:
        body = json.loads(request.body)
        task = StubTask(
            task_id=str(1000 + len(self.tasks)),
            family=family,
            body=body,
            authorization=request.headers.get("authorization", ""),
            polls_left=self.polls_to_finish,
        )
        self.tasks[task.task_id] = task
        self.max_running = max(self.max_running, self._running())
        mine = sum(
            1
            for t in self.tasks.values()
            if t.authorization == task.authorization and t.status in ("submitted", "processing")
        )
        auth = task.authorization
        self.max_running_by_key[auth] = max(self.max_running_by_key.get(auth, 0), mine)
        answer = envelope(self._data(task))
        if self.drop_create_answers > 0:
            self.drop_create_answers -= 1
            return Reply(200, answer, cut_after=0)
        return Reply(200, answer, delay=self.create_delay)

    def _advance(self, task: StubTask) -> None:
        if task.status in ("succeed", "failed"):
            return
        task.polls_left -= 1
        task.status = "processing" if task.polls_left > 0 else self.final_status
