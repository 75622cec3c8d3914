"""The static-mask latent blend inside a real (tiny) Wan pipeline with Wan's own UniPC scheduler:
after the last step the latents under the mask are the source picture's own latents, the rest
is the model's, and through the adapter the held region stays near its target at every step
(the scheduler's corrector, which would pull it away, is off for the call)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import WanImageToVideoPipeline
from PIL import Image

from openreel.engines.base import RenderJob, TaskKind, VideoSpec
from openreel.engines.diffusers.adapters import static_mask
from openreel.engines.diffusers.adapters.common import step_callback
from openreel.engines.diffusers.adapters.static_mask import (
    LatentFreeze,
    blending_scheduler,
    current_sigma,
)
from openreel.engines.diffusers.adapters.wan import WanImageToVideo
from openreel.engines.diffusers.spec import ModelSpec
from tests.fakes.tiny_wan import save_tiny_wan
from tests.support.helpers import textured

SIZE = (64, 48)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:  # diffusers: unannotated
    path = save_tiny_wan(tmp_path_factory.mktemp("wan") / "i2v", first_last_frame=False)
    pipe = WanImageToVideoPipeline.from_pretrained(path, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def final_latents(pipe: Any, image: Image.Image, hold: object) -> torch.Tensor:
    steps: list[int] = []
    with blending_scheduler(pipe, 3):
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
    class Config:
        use_flow_sigmas = True

    class Scheduler:
        config = Config()
        sigmas = torch.tensor([1.0, 0.6, 0.2, 0.0])
        step_index = 2

    assert current_sigma(Scheduler(), step=1) == pytest.approx(0.2)

    class KarrasSigmas:  # sigmas that are not flow matching's 1 -> 0
        config = object()
        sigmas = torch.tensor([14.6, 3.0, 0.0])
        step_index = 1

    with pytest.raises(ValueError, match="flow-matching"):
        current_sigma(KarrasSigmas(), step=0)


def test_the_blend_holds_through_the_adapter(
    pipeline: WanImageToVideoPipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.fromarray(textured(640, 480, seed=4)).save(tmp_path / "image.png")
    mask = np.zeros((480, 640), np.uint8)
    mask[:, 320:] = 255  # right half: latent columns 4..7 of 8
    Image.fromarray(mask).save(tmp_path / "mask.png")
    job = RenderJob(
        task_id="t",
        kind=TaskKind.IMAGE2VIDEO,
        model_name="m",
        params={"prompt": "the cat"},
        images={"image": tmp_path / "image.png", "static_mask": tmp_path / "mask.png"},
        output_dir=tmp_path / "out",
        seed=1,
        video=VideoSpec(short_side=720, fps=24, seconds=5),
    )
    spec = ModelSpec(
        adapter="wan_i2v", weights="/", steps=6, area=64 * 48, max_frames=9, fps=8,
        dtype="float32", device="cpu", guidance_scale=1.0,
    )  # fmt: skip
    held = BlendProbe(pipeline)
    WanImageToVideo().generate(held, job, spec, lambda step, total: None)
    assert len(held.drift) == 6 and max(held.untouched) == 0.0  # only the mask is blended
    assert held.scheduler_seen == "corrector off"
    # Without the corrector switched off, UniPC pulls the region away from its target.
    monkeypatch.setattr(static_mask, "blending_scheduler", lambda pipe, steps: nullcontext())
    loose = BlendProbe(pipeline)
    WanImageToVideo().generate(loose, job, spec, lambda step, total: None)
    assert loose.scheduler_seen == "corrector on"
    middle = slice(1, 5)  # the first step starts from noise, the last lands on sigma 0
    assert np.mean(held.drift[middle]) < 0.7 * np.mean(loose.drift[middle])


class BlendProbe:
    """Between the adapter and the pipeline: how far each step's blend moved the latents,
    inside the mask (``drift``: how far the step had pulled the region from its target) and
    outside it (``untouched``: must be 0)."""

    pipeline: Any  # diffusers' pipelines carry no annotations of their call
    drift: list[float]
    untouched: list[float]
    scheduler_seen: str

    def __init__(self, pipeline: WanImageToVideoPipeline) -> None:
        object.__setattr__(self, "pipeline", pipeline)
        object.__setattr__(self, "drift", [])
        object.__setattr__(self, "untouched", [])
        object.__setattr__(self, "scheduler_seen", "")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipeline, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self.pipeline, name, value)

    def __call__(self, **kwargs: Any) -> Any:
        off = self.pipeline.scheduler.config.disable_corrector
        object.__setattr__(self, "scheduler_seen", "corrector off" if off else "corrector on")
        callback = kwargs["callback_on_step_end"]

        def measured(
            pipe: object, step: int, timestep: object, values: dict[str, Any]
        ) -> dict[str, Any]:
            before = values["latents"].clone()
            after = callback(pipe, step, timestep, values)["latents"]
            self.drift.append(float((before - after)[..., 4:].abs().mean()))
            self.untouched.append(float((before - after)[..., :4].abs().max()))
            return {**values, "latents": after}

        kwargs["callback_on_step_end"] = measured
        return self.pipeline(**kwargs)


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
