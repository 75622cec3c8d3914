"""Task views -> Kling task data, with result URLs minted fresh on every call.

Built as plain dicts (no model round trip): this runs on every poll.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openreel.store.client_tasks import TaskView
from openreel.tasks.prices import format_units
from openreel.wire.tasks import TaskStatus

UrlFor = Callable[[str], str]


def _urls(entry: dict[str, Any], url_for: UrlFor) -> dict[str, str]:
    """``url``, and ``watermark_url`` when the task asked for a watermarked copy."""
    urls = {"url": url_for(entry["key"])}
    if "watermark_key" in entry:
        urls["watermark_url"] = url_for(entry["watermark_key"])
    return urls


def task_data(view: TaskView, url_for: UrlFor) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if view.status == TaskStatus.SUCCEED and view.result:
        if "videos" in view.result:
            result["videos"] = [
                {"id": v["id"], **_urls(v, url_for), "duration": v["duration"]}
                for v in view.result["videos"]
            ]
        if "images" in view.result:
            result["images"] = [
                {"index": i["index"], **_urls(i, url_for)} for i in view.result["images"]
            ]
    data: dict[str, Any] = {
        "task_id": view.id,
        "task_status": view.status,
        "task_status_msg": view.status_msg or "",
        "task_info": ({"external_task_id": view.external_task_id} if view.external_task_id else {}),
        "task_result": result,
        "watermark_info": {"enabled": view.watermark},
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "progress": view.progress,
    }
    if view.status == TaskStatus.SUCCEED:
        # What the task charged its key (its price quoted at create); a failure charges 0.
        data["final_unit_deduction"] = format_units(view.price_milli or 0)
    elif view.status == TaskStatus.FAILED:
        data["final_unit_deduction"] = "0"
    if view.status == TaskStatus.SUBMITTED and view.queue_position is not None:
        data["queue_position"] = view.queue_position
    return data
