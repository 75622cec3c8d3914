"""Text-to-image (``images/generations`` without subjects):

- ``qwen_image``: Qwen-Image (``QwenImagePipeline``, 20B MMDiT, Apache-2.0), text only;
- ``flux2_klein`` (in ``image_edit.py``, which it shares with multi-image-to-image): FLUX.2
  [klein] 4B (Apache-2.0) / 9B, text only or with Kling's single reference ``image`` passed
  as the pipeline's one reference picture.

``n`` is ``num_images_per_prompt`` (one generator, so the images differ and the same request
gives the same images); the size is the request's ``aspect_ratio``/``resolution`` size capped
at the model's ``area`` and rounded to what the VAE and patching accept.

torch and diffusers are imported inside ``load``/``generate`` (see ``wan.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from openreel.engines.base import Feature, GenerationOutput, RenderJob, TaskKind
from openreel.engines.diffusers.adapters.base import PipelineAdapter, StepFn
from openreel.engines.diffusers.spec import ModelSpec

__all__ = [
    "REFERENCE_SIDE",
    "QwenImage",
    "TextToImage",
    "no_negative_prompt",
    "qwen_true_cfg",
    "text_to_image",
]

# Reference pictures are decoded at no less than this side: the pipelines size them
# themselves (and need at least 64 px), whatever the (possibly small) output size.
REFERENCE_SIDE = 1024

ModelArguments = Callable[[dict[str, Any]], dict[str, Any]]


def qwen_true_cfg(arguments: dict[str, Any]) -> dict[str, Any]:
    """Qwen's classifier-free guidance is "true CFG": its own argument, and it runs only with
    a negative prompt (even " ")."""
    arguments["true_cfg_scale"] = arguments.pop("guidance_scale")
    arguments["negative_prompt"] = arguments["negative_prompt"] or " "
    return arguments


def no_negative_prompt(arguments: dict[str, Any]) -> dict[str, Any]:
    arguments.pop("negative_prompt")  # FLUX.2 takes none
    return arguments


def text_to_image(
    pipeline: Any,
    job: RenderJob,
    spec: ModelSpec,
    on_step: StepFn,
    model_arguments: ModelArguments,
) -> GenerationOutput:
    """``n`` PNGs from the prompt (and the reference ``image`` when the job has one)."""
    from PIL import Image

    from openreel.engines.diffusers.adapters.common import (
        common_arguments,
        image_size,
        image_spec,
        write_images,
    )
    from openreel.engines.imaging.loading import load_rgb

    width, height = image_size(job, spec, pipeline.vae_scale_factor * 2)
    extra: dict[str, Any] = {}
    if "image" in job.images:
        least = (max(width, REFERENCE_SIDE), max(height, REFERENCE_SIDE))
        extra["image"] = [Image.fromarray(load_rgb(job.images["image"], "image", least))]
    result = pipeline(
        height=height,
        width=width,
        num_images_per_prompt=image_spec(job).count,
        **extra,
        **model_arguments(common_arguments(job, spec, on_step)),
    )
    return write_images(result.images, job)


class TextToImage(PipelineAdapter):
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.IMAGE_GENERATION})
    features: ClassVar[frozenset[Feature]] = frozenset()

    def model_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The common pipeline arguments as this model names them."""
        return arguments

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        return text_to_image(pipeline, job, spec, on_step, self.model_arguments)


class QwenImage(TextToImage):
    pipeline: ClassVar[str] = "QwenImagePipeline"

    def model_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return qwen_true_cfg(arguments)
