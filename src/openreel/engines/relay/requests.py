"""The body a relayed task is created with upstream: the client's request as stored, with
openreel's own ``external_task_id``, never the client's ``callback_url`` (openreel sends the
client's callbacks itself) but openreel's own signed one when the upstream calls back, URL
images passed through and every other image sent as raw base64."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["external_task_id", "upstream_body"]

_PLACEHOLDER = "input:"


def external_task_id(task_id: str) -> str:
    """openreel's id for the upstream task: the same on every attempt, so a create retried
    after a crash finds the task it may already have made."""
    return f"openreel-{task_id}"


def upstream_body(
    params: Mapping[str, Any],
    images: Mapping[str, Path],
    task_id: str,
    callback_url: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = _replace(dict(params), images)
    body.pop("callback_url", None)
    if callback_url is not None:
        body["callback_url"] = callback_url
    body["external_task_id"] = external_task_id(task_id)
    return body


def _replace(value: Any, images: Mapping[str, Path]) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, images) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, images) for v in value]
    if isinstance(value, str) and value.startswith(_PLACEHOLDER):
        path = value[len(_PLACEHOLDER) :]
        file = images.get(path)
        if file is None:
            raise KeyError(path)
        return base64.b64encode(file.read_bytes()).decode("ascii")
    return value
