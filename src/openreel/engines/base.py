"""The Engine port: what an engine declares, receives and returns.

Engines know nothing about HTTP or the database. The render hands an engine a
``RenderJob`` whose images are already fetched, decoded and validated, and whose output
geometry (``VideoSpec``/``ImageSpec``) already follows the model's rules; the engine writes its
files into ``job.output_dir`` and reports progress as a fraction in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from openreel.wire.families import TaskKind as TaskKind  # engines serve kinds of tasks


class Feature(StrEnum):
    """Request features an engine may or may not honour."""

    IMAGE_TAIL = "image_tail"
    TAIL_ONLY = "image_tail without image"
    STATIC_MASK = "static_mask"
    DYNAMIC_MASKS = "dynamic_masks"
    CAMERA_CONTROL = "camera_control"
    SOUND = "sound"
    WATERMARK = "watermark_info.enabled"
    IMAGE_REFERENCE = "image"  # images/generations with a reference picture
    SCENE_IMAGE = "scene_image"
    STYLE_IMAGE = "style_image"


@dataclass(frozen=True)
class Capabilities:
    kinds: frozenset[TaskKind]
    features: frozenset[Feature] = frozenset()
    # Features every request must use (a first-and-last-frame model needs ``image_tail``).
    required: frozenset[Feature] = frozenset()
    durations: frozenset[str] = frozenset({"5", "10"})
    modes: frozenset[str] = frozenset({"std", "pro"})
    # Fields accepted but without effect on this engine; listed in docs/engines.md.
    advisory: frozenset[str] = frozenset()


@dataclass(frozen=True)
class VideoSpec:
    """Output geometry: ``short_side`` px on the shorter side of the output, input aspect kept."""

    short_side: int
    fps: int
    seconds: int

    @property
    def frame_count(self) -> int:
        return self.fps * self.seconds


@dataclass(frozen=True)
class ImageSpec:
    width: int
    height: int
    count: int


ProgressFn = Callable[[float], None]


class EngineState(Protocol):
    """What an engine keeps across attempts of one task (the relay: the upstream task id), as
    JSON stored with the task. ``save`` returns once the state is durable and raises (stopping
    the engine) if this worker no longer holds the task."""

    def load(self) -> dict[str, Any]: ...

    def save(self, state: dict[str, Any]) -> None: ...

    def note(self, message: str) -> None:
        """Show ``message`` as the running task's ``task_status_msg`` (the relay: upstream's)."""
        ...

    def take_slot(self, pool: str, key: str, limits: SlotLimits, force: bool = False) -> bool:
        """Count this task in flight on ``pool`` (the relay: an upstream) with ``key`` (a key's
        fingerprint) if both have room under ``limits`` (every process of the deployment
        counted), or at once when ``force``; True when taken. Taking again moves the slot."""
        ...

    def free_slot(self) -> None:
        """Stop counting this task in flight (a slot this worker no longer holds is left)."""
        ...

    def nudges(self) -> int:
        """How often something outside (the relay: an upstream callback) said the task has
        news; a change means: ask now rather than at the next poll."""
        ...


@dataclass(frozen=True)
class SlotLimits:
    """Tasks in flight at once: on the whole pool, and on one key (None: the pool's bound)."""

    pool: int
    key: int | None = None


class MemoryState:
    """State kept for one run only (tests, and engines that need none); slots are unbounded."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = dict(state or {})
        self.message = ""
        self.slot: tuple[str, str] | None = None
        self.nudged = 0

    def load(self) -> dict[str, Any]:
        return dict(self.state)

    def save(self, state: dict[str, Any]) -> None:
        self.state = dict(state)

    def note(self, message: str) -> None:
        self.message = message

    def take_slot(self, pool: str, key: str, limits: SlotLimits, force: bool = False) -> bool:
        self.slot = (pool, key)
        return True

    def free_slot(self) -> None:
        self.slot = None

    def nudges(self) -> int:
        return self.nudged


@dataclass
class RenderJob:
    task_id: str
    kind: TaskKind
    model_name: str
    params: dict[str, Any]
    # Field path (``image``, ``image_list[1].image``, ``scene_image``...) -> decoded input file.
    images: dict[str, Path]
    output_dir: Path
    seed: int
    video: VideoSpec | None = None
    image: ImageSpec | None = None
    # ``watermark_info.enabled``: every output also gets a watermarked copy (engines without
    # Feature.WATERMARK never see it set: the create is refused).
    watermark: bool = False
    state: EngineState = field(default_factory=MemoryState)


@dataclass(frozen=True)
class OutputFile:
    path: Path
    content_type: str
    duration: str | None = None
    # The same result with a visible watermark (``watermark_url``), when the job asked for one.
    watermark_path: Path | None = None


@dataclass
class GenerationOutput:
    files: list[OutputFile] = field(default_factory=list)
    # Units an upstream charged for the task (the relay: Kling's ``final_unit_deduction``).
    final_unit_deduction: str | None = None


class EngineError(Exception):
    """A generation that cannot succeed; the message becomes ``task_status_msg``."""


class Engine(Protocol):
    name: str
    # The union over every model the engine serves (what an unknown model name may use).
    capabilities: Capabilities

    def capabilities_for(self, model_name: str) -> Capabilities:
        """What this engine can do for ``model_name`` (diffusers: one pipeline per model)."""
        ...

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput: ...

    def close(self) -> None:
        """Release what the engine holds (a child process, a GPU); called once at shutdown."""
        ...


@runtime_checkable
class ForwardsCancel(Protocol):
    """An engine whose task may run elsewhere (the relay: an upstream task), told when the task
    was cancelled so that it can stop that work too; best effort: it must not raise.
    ``state`` is what the engine kept for the task (the latest its worker knew, else the
    stored one). False: nothing was found to cancel yet (a worker that learns more may try
    again); True: done, whatever the outcome."""

    def cancel_elsewhere(self, task_id: str, kind: TaskKind, state: dict[str, Any]) -> bool: ...


class BaseEngine:
    """Defaults for an engine whose models all can do the same and that holds nothing."""

    capabilities: Capabilities

    def capabilities_for(self, model_name: str) -> Capabilities:
        return self.capabilities

    def close(self) -> None:
        return None
