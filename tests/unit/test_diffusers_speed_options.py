"""The speed options of a diffusers model, applied by the engine's own loader to tiny Wan
weights: a LoRA file changes the output in proportion to its weight, FP8 stores the
transformer's weights in float8, VAE tiling is switched on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import WanImageToVideoPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from PIL import Image

from openreel.engines.diffusers.adapters.pipelines import load_pipeline
from openreel.engines.diffusers.spec import ModelSpec
from tests.fakes.tiny_wan import save_tiny_wan
from tests.support.helpers import textured


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_wan(tmp_path_factory.mktemp("wan") / "i2v", first_last_frame=False)


@pytest.fixture(scope="module")
def lora(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random rank-4 LoRA on the attention projections, saved as diffusers saves LoRAs."""
    pipe = WanImageToVideoPipeline.from_pretrained(weights, local_files_only=True)
    torch.manual_seed(1)
    pipe.transformer.add_adapter(
        LoraConfig(
            r=4, lora_alpha=4, init_lora_weights=False,
            target_modules=["to_q", "to_k", "to_v", "to_out.0"],
        )
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("lora")
    WanImageToVideoPipeline.save_lora_weights(
        folder, transformer_lora_layers=get_peft_model_state_dict(pipe.transformer)
    )
    return folder / "pytorch_lora_weights.safetensors"


def spec(weights: Path, **options: Any) -> ModelSpec:
    return ModelSpec(
        adapter="wan_i2v", weights=str(weights), device="cpu", dtype="float32", **options
    )


def frames(pipe: Any) -> np.ndarray:
    result = pipe(
        image=Image.fromarray(textured(32, 32, seed=2)),
        prompt="the cat",
        height=32,
        width=32,
        num_frames=5,
        num_inference_steps=2,
        guidance_scale=1.0,
        max_sequence_length=16,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    )
    return np.asarray(result.frames[0])


def test_a_lora_changes_the_output_by_its_weight(weights: Path, lora: Path) -> None:
    plain = frames(load_pipeline(WanImageToVideoPipeline, spec(weights), "m"))
    full = load_pipeline(
        WanImageToVideoPipeline, spec(weights, loras=[{"path": str(lora), "weight": 1.0}]), "m"
    )
    off = load_pipeline(
        WanImageToVideoPipeline, spec(weights, loras=[{"path": str(lora), "weight": 0.0}]), "m"
    )
    assert float(np.abs(frames(full) - plain).max()) > 1e-4
    np.testing.assert_allclose(frames(off), plain, atol=1e-5)


def test_fp8_storage_and_vae_tiling(weights: Path) -> None:
    pipe = load_pipeline(WanImageToVideoPipeline, spec(weights, fp8=True, vae_tiling=True), "m")
    stored = {p.dtype for p in pipe.transformer.parameters()}
    assert torch.float8_e4m3fn in stored
    assert pipe.vae.use_tiling is True
    out = frames(pipe)
    assert out.shape == (5, 32, 32, 3) and np.isfinite(out).all()
