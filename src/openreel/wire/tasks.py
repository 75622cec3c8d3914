"""Task data as Kling returns it on create, query, list and in callbacks."""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from openreel.wire.requests import WatermarkInfo

T = TypeVar("T")


class TaskStatus(StrEnum):
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (TaskStatus.SUCCEED, TaskStatus.FAILED)


class TaskInfo(BaseModel):
    model_config = ConfigDict(extra="allow")
    external_task_id: str | None = None


class VideoResult(BaseModel):
    id: str
    url: str
    # Newer Kling docs: the same result with a visible watermark, when watermark_info asked.
    watermark_url: str | None = None
    duration: str


class ImageResult(BaseModel):
    index: int
    url: str
    watermark_url: str | None = None


class TaskResult(BaseModel):
    videos: list[VideoResult] | None = None
    images: list[ImageResult] | None = None


class TaskData(BaseModel):
    """The ``data`` of a task: the finished-task schema plus two additive fields."""

    model_config = ConfigDict(extra="allow")

    task_id: str
    task_status: TaskStatus
    task_status_msg: str = ""
    task_info: TaskInfo = Field(default_factory=TaskInfo)
    task_result: TaskResult = Field(default_factory=TaskResult)
    created_at: int
    updated_at: int
    # Newer Kling docs: the request's watermark_info, echoed.
    watermark_info: WatermarkInfo | None = None
    # Additive (openreel): percent done, and place in the queue while submitted.
    progress: int = 0
    queue_position: int | None = None
    # Units the task charged its key, on finished tasks ("0" when it failed).
    final_unit_deduction: str | None = None


class Envelope(BaseModel, Generic[T]):
    """Kling's success envelope: ``code`` 0 with the payload in ``data``."""

    code: int = 0
    message: str = "SUCCEED"
    request_id: str
    data: T


class ErrorEnvelope(BaseModel):
    """Kling's failure body: no ``data``; the HTTP status comes from the error table."""

    code: int
    message: str
    request_id: str
