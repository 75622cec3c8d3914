"""``static_mask`` on a diffusion model: latent blending while denoising, then an exact pixel
composite (docs/engines.md, "Static mask").

While denoising, after every step the masked part of the latents is replaced by the source
picture's own latents noised to the step's level (flow matching: ``(1 - σ)·x0 + σ·ε``), so the
model paints the rest of the frame around a region that stays put. The decoder cannot give the
source pixels back bit for bit, so the decoded frames then get the source's pixels composited
into the mask (the classic engine's ``StaticFreeze``, feathered outside the mask).

UniPC (the scheduler Wan's weights ship with) rebuilds each sample from the previous one in its
corrector step, which would undo most of the blend: while a mask is held the call runs with the
corrector off (``blending_scheduler``).

The mask is cover-cropped to the output exactly like the pictures (``common.picture``), so it
stays on the same pixels when the output's sides are rounded to the model's multiples.

Imported only in the engine's child process (torch).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from openreel.engines.base import RenderJob
from openreel.engines.imaging.canvas import cover_crop
from openreel.engines.imaging.loading import load_rgb
from openreel.engines.imaging.masks import StaticFreeze, selected

__all__ = ["LatentFreeze", "blending_scheduler", "pixel_freeze", "static_mask"]


def static_mask(job: RenderJob, size: tuple[int, int]) -> np.ndarray | None:
    """The request's ``static_mask`` as a 0/255 mask at ``size`` (cover-cropped like the
    pictures), or None without one."""
    path: Path | None = job.images.get("static_mask")
    if path is None:
        return None
    rgb = cover_crop(load_rgb(path, "static_mask", size, background=(0, 0, 0)), size)
    return selected(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def pixel_freeze(source: Image.Image, mask: np.ndarray) -> StaticFreeze:
    """A freeze that pins the masked pixels of every frame to ``source``'s."""
    freeze = StaticFreeze(mask)
    freeze.apply(np.asarray(source.convert("RGB")))  # the first frame seen is the reference
    return freeze


def current_sigma(scheduler: Any, step: int) -> float:
    """The noise level of the latents a step has just produced (flow-matching sigmas, 1 ->
    0, where ``x_t = (1 - σ)·x0 + σ·ε``)."""
    flow = "FlowMatch" in type(scheduler).__name__ or bool(
        getattr(scheduler.config, "use_flow_sigmas", False)
    )
    sigmas = getattr(scheduler, "sigmas", None)
    if not flow or sigmas is None:
        raise ValueError(
            f"static_mask needs a flow-matching scheduler, not {type(scheduler).__name__}"
        )
    index = getattr(scheduler, "step_index", None)
    position = index if index is not None else step + 1
    return float(sigmas[min(position, len(sigmas) - 1)])


@contextmanager
def blending_scheduler(pipeline: Any, steps: int) -> Iterator[None]:
    """Run ``pipeline`` with a UniPC scheduler's corrector off (restored afterwards), so the
    latents a step callback writes are the ones the next step starts from."""
    scheduler = pipeline.scheduler
    if type(scheduler).__name__ != "UniPCMultistepScheduler":
        yield
        return
    pipeline.scheduler = type(scheduler).from_config(
        scheduler.config, disable_corrector=list(range(steps + 1))
    )
    try:
        yield
    finally:
        pipeline.scheduler = scheduler


class LatentFreeze:
    """Keeps the latents under ``mask`` on the source picture's latents (a Wan-style VAE:
    5-D latents normalised by ``latents_mean``/``latents_std``)."""

    def __init__(
        self, pipeline: Any, source: Image.Image, mask: np.ndarray, frames: int, seed: int
    ) -> None:
        from diffusers.pipelines.wan.pipeline_wan_i2v import retrieve_latents
        from diffusers.utils.torch_utils import get_module_execution_device

        vae = pipeline.vae
        width, height = source.size
        still = pipeline.video_processor.preprocess(source, height, width)  # 1,3,H,W in [-1, 1]
        video = still.unsqueeze(2).repeat(1, 1, frames, 1, 1)
        device = get_module_execution_device(vae)
        with torch.no_grad():
            posterior = vae.encode(video.to(device, vae.dtype))
        encoded = retrieve_latents(posterior, sample_mode="argmax")
        shape = (1, vae.config.z_dim, 1, 1, 1)
        mean = torch.tensor(vae.config.latents_mean).view(shape).to(encoded.device)
        inverse_std = 1.0 / torch.tensor(vae.config.latents_std).view(shape).to(encoded.device)
        self.reference = (encoded.float() - mean) * inverse_std
        noise_generator = torch.Generator(device="cpu").manual_seed(seed)
        self.noise = torch.randn(
            self.reference.shape, generator=noise_generator, dtype=torch.float32
        ).to(self.reference.device)
        latent_h, latent_w = self.reference.shape[-2:]
        # Area-averaged, so a latent cell half under the mask is held half way.
        small = cv2.resize(
            mask.astype(np.float32) / 255.0,
            (int(latent_w), int(latent_h)),
            interpolation=cv2.INTER_AREA,
        )
        self.weight = torch.from_numpy(small).to(self.reference.device).view(1, 1, 1, *small.shape)

    def __call__(self, pipe: Any, step: int, kwargs: dict[str, Any]) -> dict[str, Any]:
        latents = kwargs.get("latents")
        if latents is None:
            return kwargs
        sigma = current_sigma(pipe.scheduler, step)
        held = (1.0 - sigma) * self.reference + sigma * self.noise
        weight = self.weight.to(latents.device)
        blended = weight * held.to(latents.device) + (1.0 - weight) * latents.float()
        kwargs["latents"] = blended.to(latents.dtype)
        return kwargs
