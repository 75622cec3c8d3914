"""Tiny fake engines for failure injection (the cog pattern): each does one odd thing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import av
import numpy as np
from PIL import Image

from openreel.engines.base import (
    BaseEngine,
    Capabilities,
    EngineError,
    Feature,
    GenerationOutput,
    OutputFile,
    ProgressFn,
    RenderJob,
    TaskKind,
)

CAPS = Capabilities(kinds=frozenset(TaskKind))


class FailingEngine(BaseEngine):
    name = "failing"
    capabilities = CAPS

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        raise EngineError("the fake engine refuses this input")


class CrashingEngine(BaseEngine):
    name = "crashing"
    capabilities = CAPS

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        raise RuntimeError("segfault-like surprise")


class MissingFileEngine(BaseEngine):
    """Claims two outputs, writes only the first: the task must not succeed."""

    name = "missing-file"
    capabilities = CAPS

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        first = job.output_dir / "video.mp4"
        first.write_bytes(b"\0" * 100)
        return GenerationOutput(
            [
                OutputFile(first, "video/mp4", "5"),
                OutputFile(job.output_dir / "gone.mp4", "video/mp4", "5"),
            ]
        )


@dataclass
class GatedEngine(BaseEngine):
    """Reports progress, then waits for ``release`` before writing its output."""

    name: str = "gated"
    capabilities: Capabilities = CAPS
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    # Set when a run returns or raises (a stopped render really stops).
    ended: threading.Event = field(default_factory=threading.Event)
    runs: int = 0

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        self.runs += 1
        try:
            progress(0.5)
            self.started.set()
            while not self.release.wait(0.02):
                progress(0.5)  # raises when the worker is stopping
            path = job.output_dir / "video.mp4"
            path.write_bytes(b"fake video " + job.task_id.encode())
            progress(1.0)
            return GenerationOutput([OutputFile(path, "video/mp4", "5")])
        finally:
            self.ended.set()


class StandInEngine(BaseEngine):
    """Serves every kind with plain, real files of the geometry asked for: a short MP4 for
    video kinds, one PNG per requested image. For tests of clients that need a finished task
    of a kind whatever the real engines serve."""

    name = "stand-in"
    capabilities = Capabilities(
        kinds=frozenset(TaskKind),
        features=frozenset({Feature.CAMERA_CONTROL, Feature.IMAGE_REFERENCE}),
    )

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        if job.kind.makes_video:
            return GenerationOutput([self._video(job)])
        assert job.image is not None
        files = []
        for index in range(job.image.count):
            path = job.output_dir / f"image-{index}.png"
            shade = (40 * index % 256, 120, 200)
            Image.new("RGB", (job.image.width, job.image.height), shade).save(path)
            files.append(OutputFile(path, "image/png"))
            progress((index + 1) / job.image.count)
        return GenerationOutput(files)

    def _video(self, job: RenderJob) -> OutputFile:
        assert job.video is not None
        path = job.output_dir / "video.mp4"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=job.video.fps)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            for index in range(job.video.fps):  # one second is enough for a client test
                frame = np.full((64, 64, 3), index * 8 % 256, np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
        return OutputFile(path, "video/mp4", str(job.video.seconds))
