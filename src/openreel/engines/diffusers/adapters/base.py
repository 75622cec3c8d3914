"""What a pipeline adapter is: one per capability, driving one diffusers pipeline.

Adapters declare what they can do as class attributes, so the server can route and refuse
requests without importing torch; they import torch and diffusers only in ``load`` and
``generate``, which run in the engine's child process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from openreel.engines.base import Feature, GenerationOutput, RenderJob, TaskKind
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["Adapter", "AdapterError", "PipelineAdapter", "StepFn"]

# on_step(step, total): report a finished denoising step; raises to cancel the job.
StepFn = Callable[[int, int], None]


class AdapterError(Exception):
    """A job the adapter cannot run as asked; the message becomes the task's reason."""


class Adapter(Protocol):
    kinds: ClassVar[frozenset[TaskKind]]
    features: ClassVar[frozenset[Feature]]

    def load(self, spec: ModelSpec, model_name: str) -> Any: ...

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput: ...


class PipelineAdapter:
    """Loads the diffusers pipeline class named by ``pipeline`` from the configured weights
    (imported only when called, in the child process)."""

    pipeline: ClassVar[str]
    # Features every request must use; an adapter may leave this out (nothing required).
    required: ClassVar[frozenset[Feature]] = frozenset()

    def load(self, spec: ModelSpec, model_name: str) -> Any:
        import diffusers

        from openreel.engines.diffusers.adapters.pipelines import load_pipeline

        return load_pipeline(getattr(diffusers, self.pipeline), spec, model_name)
