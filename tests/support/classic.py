"""Running the classic engine directly on a RenderJob, and decoding what it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from openreel.engines.base import GenerationOutput, RenderJob, TaskKind, VideoSpec
from openreel.engines.classic import ClassicEngine


def save(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


@dataclass
class Run:
    output: GenerationOutput
    progress: list[float]


def run(job: RenderJob) -> Run:
    calls: list[float] = []
    job.output_dir.mkdir(parents=True, exist_ok=True)
    output = ClassicEngine().run(job, calls.append)
    return Run(output, calls)


def video_job(
    out: Path,
    kind: TaskKind,
    images: dict[str, Path],
    spec: VideoSpec,
    seed: int = 7,
    **params: Any,
) -> RenderJob:
    return RenderJob("task", kind, "kling-v1", dict(params), images, out, seed, video=spec)


def decode(path: Path) -> tuple[list[np.ndarray], Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        rate = stream.average_rate
    assert rate is not None
    return frames, Fraction(rate)
