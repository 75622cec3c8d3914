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

# Share of the progress bar the watermarked copies take when they are asked for.
_WATERMARK_SHARE = 0.2


class ClassicEngine(BaseEngine):
    """Ken Burns image2video, card-collage multi_image2video, cut-out multi_image2image, and
    test cards (placeholders, not generations) for text2video and images/generations."""

    name: str = "classic"
    capabilities: Capabilities = Capabilities(
        kinds=frozenset(TaskKind),
        features=frozenset(
            {
                Feature.WATERMARK,
                Feature.IMAGE_REFERENCE,
                Feature.SCENE_IMAGE,
                Feature.STYLE_IMAGE,
                Feature.IMAGE_TAIL,
                Feature.TAIL_ONLY,
                Feature.STATIC_MASK,
                Feature.DYNAMIC_MASKS,
                Feature.CAMERA_CONTROL,
            }
        ),
        advisory=frozenset({"cfg_scale", "negative_prompt", "human_fidelity"}),
    )

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        # Imported here: OpenCV, PyAV and NumPy cost ~95 MiB, which API-only nodes
        # (--workers 0) that only read the capabilities above should not pay.
        from openreel.engines.imaging.watermark import watermark_outputs

        if not job.watermark:
            return self._render(job, progress)
        share = _WATERMARK_SHARE
        output = self._render(job, lambda done: progress((1 - share) * done))
        files = watermark_outputs(output.files, lambda done: progress(1 - share + share * done))
        return GenerationOutput(files)

    def _render(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        from openreel.engines.classic.compose import render_multi_image2image
        from openreel.engines.classic.elements import render_multi_image2video
        from openreel.engines.classic.image2video import render_image2video
        from openreel.engines.classic.text2image import render_image_generation
        from openreel.engines.classic.text2video import render_text2video

        renders = {
            TaskKind.IMAGE2VIDEO: render_image2video,
            TaskKind.TEXT2VIDEO: render_text2video,
            TaskKind.MULTI_IMAGE2VIDEO: render_multi_image2video,
            TaskKind.MULTI_IMAGE2IMAGE: render_multi_image2image,
            TaskKind.IMAGE_GENERATION: render_image_generation,
        }
        render = renders.get(job.kind)
        if render is None:
            raise EngineError(f"the classic engine cannot run {job.kind} tasks")
        try:
            return render(job, progress)
        except InputError as exc:  # a stored input that no longer reads as an image
            raise EngineError(str(exc)) from exc
