"""Polling a task through the HTTP API until it is terminal."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

TERMINAL = {"succeed", "failed"}


def wait_task(
    client: TestClient, path: str, task_id: str, headers: dict[str, str], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{path}/{task_id}", headers=headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["task_status"] in TERMINAL:
            return data
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {data['task_status']} after {timeout}s")
        time.sleep(0.1)
