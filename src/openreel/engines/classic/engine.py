"""The classic engine: honest CPU motion and compositing, no model weights."""

from __future__ import annotations

from openreel.engines.base import (
    BaseEngine,
    Capabilities,
    EngineError,
    Feature,
    GenerationOutput,
    ProgressFn,
    RenderJob,
    TaskKind,
)
from openreel.errors import InputError


class ClassicEngine(BaseEngine):
    """Ken Burns image2video, card-collage multi_image2video and cut-out multi_image2image."""

    name: str = "classic"
    capabilities: Capabilities = Capabilities(
        kinds=frozenset(
            {TaskKind.IMAGE2VIDEO, TaskKind.MULTI_IMAGE2VIDEO, TaskKind.MULTI_IMAGE2IMAGE}
        ),
        features=frozenset(
            {
                Feature.SCENE_IMAGE,
                Feature.STYLE_IMAGE,
                Feature.IMAGE_TAIL,
                Feature.TAIL_ONLY,
                Feature.STATIC_MASK,
                Feature.DYNAMIC_MASKS,
                Feature.CAMERA_CONTROL,
            }
        ),
        advisory=frozenset({"cfg_scale", "negative_prompt"}),
    )

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        # Imported here: OpenCV, PyAV and NumPy cost ~95 MiB, which API-only nodes
        # (--workers 0) that only read the capabilities above should not pay.
        from openreel.engines.classic.compose import render_multi_image2image
        from openreel.engines.classic.elements import render_multi_image2video
        from openreel.engines.classic.image2video import render_image2video

        try:
            if job.kind is TaskKind.IMAGE2VIDEO:
                return render_image2video(job, progress)
            if job.kind is TaskKind.MULTI_IMAGE2VIDEO:
                return render_multi_image2video(job, progress)
            if job.kind is TaskKind.MULTI_IMAGE2IMAGE:
                return render_multi_image2image(job, progress)
        except InputError as exc:  # a stored input that no longer reads as an image
            raise EngineError(str(exc)) from exc
        raise EngineError(f"the classic engine cannot run {job.kind} tasks")
