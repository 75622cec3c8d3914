"""The family table: every path a task is created and polled on, the request models it accepts,
the kind of task each model makes, and its summary. Parsing, the task rules, the routes, the
OpenAPI document, the limits document and the SDK all read this one table; a new family is
one more row here (plus its rules).

A **family** is a path (``videos/image2video``); a **kind** is what gets rendered. One family
can carry two kinds: CometAPI documents multi-image-to-image on ``images/generations``, told
apart from text-to-image by ``subject_image_list`` in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from openreel.wire.requests import (
    CreateRequest,
    Image2VideoRequest,
    ImageGenerationRequest,
    MultiImage2ImageRequest,
    MultiImage2VideoRequest,
    Text2VideoRequest,
)


class Prefix(StrEnum):
    """``/kling/v1`` follows CometAPI's documented limits; ``/v1`` follows Kling's own."""

    COMETAPI = "/kling/v1"
    KLING = "/v1"


class Family(StrEnum):
    IMAGE2VIDEO = "videos/image2video"
    TEXT2VIDEO = "videos/text2video"
    MULTI_IMAGE2VIDEO = "videos/multi-image2video"
    IMAGE_GENERATIONS = "images/generations"
    MULTI_IMAGE2IMAGE = "images/multi-image2image"


class TaskKind(StrEnum):
    """What a task renders (engines declare which kinds they serve)."""

    IMAGE2VIDEO = "image2video"
    TEXT2VIDEO = "text2video"
    MULTI_IMAGE2VIDEO = "multi_image2video"
    MULTI_IMAGE2IMAGE = "multi_image2image"
    IMAGE_GENERATION = "image_generation"

    @property
    def makes_video(self) -> bool:
        """Whether the results are videos (``task_result.videos``) rather than images."""
        return self in (TaskKind.IMAGE2VIDEO, TaskKind.TEXT2VIDEO, TaskKind.MULTI_IMAGE2VIDEO)


ALL_PREFIXES = frozenset(Prefix)


@dataclass(frozen=True)
class Shape:
    """One request model a family accepts and the kind of task it makes.

    ``selector``: the body key that picks this shape (None: the family's default shape).
    ``sdk_prefixes``: the prefixes on which the SDK creates tasks of this kind here (a kind
    served by two families is created on one of them per prefix).
    """

    model: type[BaseModel]
    kind: TaskKind
    selector: str | None = None
    sdk_prefixes: frozenset[Prefix] = ALL_PREFIXES


@dataclass(frozen=True)
class FamilyEntry:
    family: Family
    summary: str  # the create operation's summary in the OpenAPI document
    shapes: tuple[Shape, ...]

    def shape_for(self, body: Mapping[str, Any]) -> Shape:
        """The shape a request body takes: the first whose selector key it carries, else the
        default (selector None)."""
        for shape in self.shapes:
            if shape.selector is not None and shape.selector in body:
                return shape
        return next(shape for shape in self.shapes if shape.selector is None)

    @property
    def models(self) -> list[type[BaseModel]]:
        return [shape.model for shape in self.shapes]


FAMILIES: tuple[FamilyEntry, ...] = (
    FamilyEntry(
        Family.IMAGE2VIDEO,
        "Create an image-to-video task",
        (Shape(Image2VideoRequest, TaskKind.IMAGE2VIDEO),),
    ),
    FamilyEntry(
        Family.TEXT2VIDEO,
        "Create a text-to-video task",
        (Shape(Text2VideoRequest, TaskKind.TEXT2VIDEO),),
    ),
    FamilyEntry(
        Family.MULTI_IMAGE2VIDEO,
        "Create a multi-image-to-video (Elements) task",
        (Shape(MultiImage2VideoRequest, TaskKind.MULTI_IMAGE2VIDEO),),
    ),
    FamilyEntry(
        Family.IMAGE_GENERATIONS,
        "Create an image generation task: text-to-image, image-to-image with one reference, or "
        "multi-image-to-image when subject_image_list is given",
        (
            Shape(
                MultiImage2ImageRequest,
                TaskKind.MULTI_IMAGE2IMAGE,
                selector="subject_image_list",
                sdk_prefixes=frozenset({Prefix.COMETAPI}),
            ),
            Shape(ImageGenerationRequest, TaskKind.IMAGE_GENERATION),
        ),
    ),
    FamilyEntry(
        Family.MULTI_IMAGE2IMAGE,
        "Create a multi-image-to-image task",
        (
            Shape(
                MultiImage2ImageRequest,
                TaskKind.MULTI_IMAGE2IMAGE,
                sdk_prefixes=frozenset({Prefix.KLING}),
            ),
        ),
    ),
)

_BY_FAMILY = {entry.family: entry for entry in FAMILIES}
_KIND_OF_MODEL = {shape.model: shape.kind for entry in FAMILIES for shape in entry.shapes}


def family_entry(family: Family) -> FamilyEntry:
    return _BY_FAMILY[family]


def kind_of(request: CreateRequest) -> TaskKind:
    return _KIND_OF_MODEL[type(request)]


def family_for_kind(kind: TaskKind, prefix: Prefix) -> Family:
    """Where a task of ``kind`` is created on ``prefix`` (the SDK's and the limits' path)."""
    return next(
        entry.family
        for entry in FAMILIES
        for shape in entry.shapes
        if shape.kind == kind and prefix in shape.sdk_prefixes
    )
