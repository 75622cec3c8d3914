"""Multi-image-to-image on reference-image editing models:

- ``qwen_image_edit``: Qwen-Image-Edit-2509/2511 (``QwenImageEditPlusPipeline``). Its VL
  processor is built without its video half: the pipeline never passes videos, and the video
  processor needs torchvision, which the GPU extra does not install.
- ``flux2_klein``: FLUX.2 [klein] 4B/9B (``Flux2KleinPipeline``), up to 4 references; the same
  adapter serves text-to-image (``text2image.py``).

Kling's pictures become the pipeline's numbered inputs ("Picture 1", "Picture 2"...): the
subjects first, then the scene, then the style, and the prompt says what each one is for
(docs/engines.md §1.5). ``n`` is ``num_images_per_prompt``; the output size is the request's
``aspect_ratio``/``resolution`` size, capped at the model's ``area`` and rounded to what the
VAE and patching accept.

torch, transformers and diffusers are imported inside ``load``/``generate`` (see ``wan.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from openreel.engines.base import Feature, GenerationOutput, RenderJob, TaskKind
from openreel.engines.diffusers.adapters.base import AdapterError, PipelineAdapter, StepFn
from openreel.engines.diffusers.adapters.text2image import (
    REFERENCE_SIDE,
    no_negative_prompt,
    qwen_true_cfg,
    text_to_image,
)
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["Flux2Klein", "ImageEditAdapter", "QwenImageEdit", "edit_prompt"]


def edit_prompt(prompt: str, subjects: int, scene: bool, style: bool) -> str:
    """The request's prompt, with what each numbered picture is for."""
    numbers = ", ".join(str(i) for i in range(1, subjects + 1))
    parts = [f"Picture {numbers} {'shows the subject' if subjects == 1 else 'show the subjects'}."]
    if scene:
        them = "it" if subjects == 1 else "them"
        parts.append(f"Place {them} in the scene of picture {subjects + 1}.")
    if style:
        parts.append(f"Render it in the style of picture {subjects + 1 + int(scene)}.")
    if prompt:
        parts.append(prompt)
    return " ".join(parts)


def still_image_processor(weights: Path) -> Any:
    """``Qwen2VLProcessor`` from the weights' ``processor``/``tokenizer`` folders, images only."""
    from transformers import AutoTokenizer, Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    class StillImageProcessor(Qwen2VLProcessor):  # type: ignore[misc]  # Any: mypy skips transformers
        # The attributes of a processor are its __init__ parameters: no video_processor here.
        def __init__(
            self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None
        ) -> None:
            super().__init__(image_processor, tokenizer, None, chat_template)

    folder = weights / "processor"
    tokenizer = AutoTokenizer.from_pretrained(weights / "tokenizer", local_files_only=True)
    images = Qwen2VLImageProcessorPil.from_pretrained(folder, local_files_only=True)
    return StillImageProcessor(image_processor=images, tokenizer=tokenizer)


class ImageEditAdapter(PipelineAdapter):
    """Subjects, scene and style as numbered reference pictures; PNGs out."""

    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.MULTI_IMAGE2IMAGE})
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.SCENE_IMAGE, Feature.STYLE_IMAGE})

    def model_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The common pipeline arguments as this model names them."""
        return arguments

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        from PIL import Image

        from openreel.engines.diffusers.adapters.common import (
            common_arguments,
            image_size,
            image_spec,
            write_images,
        )
        from openreel.engines.imaging.loading import indexed_images, load_rgb

        width, height = image_size(job, spec, pipeline.vae_scale_factor * 2)
        fields = [f for f, _ in indexed_images(job.images, "subject_image_list", "subject_image")]
        if not fields:
            raise AdapterError("subject_image_list needs at least one image")
        subjects = len(fields)
        scene, style = "scene_image" in job.images, "style_image" in job.images
        fields += [f for f, used in (("scene_image", scene), ("style_image", style)) if used]
        # The pipeline sizes its reference pictures itself (and needs them at least 64 px):
        # decode at no less than REFERENCE_SIDE, never at the (possibly small) output size.
        least = (max(width, REFERENCE_SIDE), max(height, REFERENCE_SIDE))
        pictures = [Image.fromarray(load_rgb(job.images[f], f, least)) for f in fields]
        arguments = common_arguments(job, spec, on_step)
        arguments["prompt"] = edit_prompt(arguments["prompt"], subjects, scene, style)
        result = pipeline(
            image=pictures,
            height=height,
            width=width,
            num_images_per_prompt=image_spec(job).count,
            **self.model_arguments(arguments),
        )
        return write_images(result.images, job)


class QwenImageEdit(ImageEditAdapter):
    pipeline: ClassVar[str] = "QwenImageEditPlusPipeline"

    def load(self, spec: ModelSpec, model_name: str) -> Any:
        import diffusers

        from openreel.engines.diffusers.adapters.pipelines import load_pipeline

        processor = still_image_processor(spec.weights_path(model_name))
        return load_pipeline(
            getattr(diffusers, self.pipeline), spec, model_name, processor=processor
        )

    def model_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return qwen_true_cfg(arguments)


class Flux2Klein(ImageEditAdapter):
    """Multi-image-to-image, and text-to-image with or without one reference ``image``."""

    pipeline: ClassVar[str] = "Flux2KleinPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset(
        {TaskKind.MULTI_IMAGE2IMAGE, TaskKind.IMAGE_GENERATION}
    )
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.SCENE_IMAGE, Feature.STYLE_IMAGE, Feature.IMAGE_REFERENCE}
    )

    def model_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return no_negative_prompt(arguments)

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        if job.kind is TaskKind.IMAGE_GENERATION:
            return text_to_image(pipeline, job, spec, on_step, self.model_arguments)
        return super().generate(pipeline, job, spec, on_step)
