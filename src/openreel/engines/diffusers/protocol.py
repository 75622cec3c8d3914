"""Messages between the engine and its child process (pickled over a multiprocessing pipe)."""

from __future__ import annotations

from dataclasses import dataclass

from openreel.engines.base import GenerationOutput, RenderJob

__all__ = ["Cancel", "Cancelled", "Failed", "Finished", "Generate", "Progress", "Ready", "Stop"]


# engine -> child
@dataclass(frozen=True)
class Generate:
    job: RenderJob


@dataclass(frozen=True)
class Cancel:
    """Stop the job under way at its next denoising step."""


@dataclass(frozen=True)
class Stop:
    """Exit the child process."""


# child -> engine
@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class Progress:
    step: int
    total: int


@dataclass(frozen=True)
class Finished:
    output: GenerationOutput


@dataclass(frozen=True)
class Failed:
    message: str
    restart: bool  # the child exits after sending it (out of memory: start afresh)


@dataclass(frozen=True)
class Cancelled:
    pass
