"""Task rows -> Kling task data, with result URLs minted fresh on every call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openreel.store.tables import TaskRow
from openreel.wire.tasks import (
    ImageResult,
    TaskData,
    TaskInfo,
    TaskResult,
    TaskStatus,
    VideoResult,
    dump_task,
)

UrlFor = Callable[[str], str]


def task_data(row: TaskRow, url_for: UrlFor, queue_position: int | None = None) -> dict[str, Any]:
    status = TaskStatus(row.status)
    result = TaskResult()
    if status == TaskStatus.SUCCEED and row.result:
        if "videos" in row.result:
            result.videos = [
                VideoResult(id=v["id"], url=url_for(v["key"]), duration=v["duration"])
                for v in row.result["videos"]
            ]
        if "images" in row.result:
            result.images = [
                ImageResult(index=i["index"], url=url_for(i["key"])) for i in row.result["images"]
            ]
    data = TaskData(
        task_id=row.id,
        task_status=status,
        task_status_msg=row.status_msg or "",
        task_info=TaskInfo(external_task_id=row.external_task_id),
        task_result=result,
        created_at=row.created_at,
        updated_at=row.updated_at,
        progress=row.progress,
        queue_position=queue_position if status == TaskStatus.SUBMITTED else None,
    )
    return dump_task(data)
