"""Typed results: the server's own wire models, plus which endpoint a task belongs to."""

from __future__ import annotations

from enum import StrEnum

from pydantic import PrivateAttr

from openreel.wire.families import Prefix, TaskKind, family_for_kind
from openreel.wire.tasks import TaskData, TaskStatus

__all__ = ["Endpoint", "Task", "TaskStatus"]


class Endpoint(StrEnum):
    """The task endpoints by kind (a task is found only on the endpoint that created it)."""

    IMAGE2VIDEO = "image2video"
    TEXT2VIDEO = "text2video"
    MULTI_IMAGE2VIDEO = "multi_image2video"
    MULTI_IMAGE2IMAGE = "multi_image2image"
    IMAGE_GENERATION = "image_generation"

    def path(self, comet_style: bool) -> str:
        # CometAPI documents multi-image-to-image on images/generations; Kling has its own path.
        prefix = Prefix.COMETAPI if comet_style else Prefix.KLING
        return family_for_kind(TaskKind(self.value), prefix).value


class Task(TaskData):
    """A task as the server reports it (``TaskData``), remembering its endpoint."""

    _endpoint: Endpoint = PrivateAttr(default=Endpoint.IMAGE2VIDEO)

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    @property
    def is_done(self) -> bool:
        return self.task_status.is_terminal

    @property
    def urls(self) -> list[str]:
        """Result URLs: the videos, else the images (in index order)."""
        result = self.task_result
        if result.videos:
            return [v.url for v in result.videos]
        if result.images:
            return [i.url for i in sorted(result.images, key=lambda i: i.index)]
        return []

    @classmethod
    def of(cls, data: object, endpoint: Endpoint) -> Task:
        task = cls.model_validate(data)
        task._endpoint = endpoint
        return task
