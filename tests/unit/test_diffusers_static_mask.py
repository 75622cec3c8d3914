"""The static-mask latent blend inside a real (tiny) Wan pipeline: after the last step the
latents under the mask are the source picture's own latents, and the rest is the model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import WanImageToVideoPipeline
from PIL import Image

from openreel.engines.diffusers.adapters.common import step_callback
from openreel.engines.diffusers.adapters.static_mask import LatentFreeze, current_sigma
from tests.fakes.tiny_wan import save_tiny_wan
from tests.helpers import textured

SIZE = (64, 48)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> WanImageToVideoPipeline:
    path = save_tiny_wan(tmp_path_factory.mktemp("wan") / "i2v", first_last_frame=False)
    pipe = WanImageToVideoPipeline.from_pretrained(path, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def final_latents(pipe: WanImageToVideoPipeline, image: Image.Image, hold: object) -> torch.Tensor:
    steps: list[int] = []
    result = pipe(
        image=image,
        prompt="the cat",
        height=SIZE[1],
        width=SIZE[0],
        num_frames=9,
        num_inference_steps=3,
        guidance_scale=1.0,
        max_sequence_length=16,
        generator=torch.Generator().manual_seed(1),
        output_type="latent",
        callback_on_step_end=step_callback(lambda done, total: steps.append(done), 3, hold),  # type: ignore[arg-type]
    )
    assert steps == [1, 2, 3]  # progress is still reported per step
    latents: torch.Tensor = result.frames
    return latents


def test_the_masked_latents_end_on_the_source(pipeline: WanImageToVideoPipeline) -> None:
    image = Image.fromarray(textured(*SIZE, seed=3))
    mask = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    mask[:, 32:] = 255  # right half: latent columns 4..7 of 8
    hold = LatentFreeze(pipeline, image, mask, frames=9, seed=5)
    held = final_latents(pipeline, image, hold)
    free = final_latents(pipeline, image, None)
    assert held.shape == hold.reference.shape == (1, 16, 3, 6, 8)
    right, left = (..., slice(4, 8)), (..., slice(0, 4))
    # The last step leaves sigma 0: the held half is exactly the source's latents...
    torch.testing.assert_close(held[right].float(), hold.reference[right], atol=1e-5, rtol=0)
    # ...which the model alone does not produce there; the other half is the model's own.
    assert float((free[right].float() - hold.reference[right]).abs().mean()) > 0.1
    torch.testing.assert_close(held[left], free[left], atol=0.5, rtol=0)


def test_current_sigma_is_the_level_the_step_reached() -> None:
    class Scheduler:
        sigmas = torch.tensor([1.0, 0.6, 0.2, 0.0])
        step_index = 2

    assert current_sigma(Scheduler(), step=1) == pytest.approx(0.2)

    class Plain:
        pass

    with pytest.raises(ValueError, match="flow-matching"):
        current_sigma(Plain(), step=0)


def test_reference_latents_depend_on_the_picture(
    pipeline: WanImageToVideoPipeline, tmp_path: Path
) -> None:
    mask = np.full((SIZE[1], SIZE[0]), 255, np.uint8)
    one = LatentFreeze(pipeline, Image.fromarray(textured(*SIZE, seed=1)), mask, 9, seed=0)
    two = LatentFreeze(pipeline, Image.fromarray(textured(*SIZE, seed=2)), mask, 9, seed=0)
    same = LatentFreeze(pipeline, Image.fromarray(textured(*SIZE, seed=1)), mask, 9, seed=0)
    # A tiny random VAE reacts weakly to its input, but it does react; the same picture gives
    # the same latents.
    assert float((one.reference - two.reference).abs().mean()) > 1e-3
    assert float((one.reference - same.reference).abs().max()) == 0.0
    assert float(one.weight.min()) == 1.0
