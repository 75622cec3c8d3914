"""Tiny, randomly initialised image-editing weights, built in code and saved in the published
layouts, so the engine loads them through its real path:

- Qwen-Image-Edit-Plus (``model_index.json`` naming ``transformers.Qwen2VLProcessor``), its
  Qwen2.5-VL tokenizer built offline with the vision special tokens at the ids the tiny text
  encoder expects;
- FLUX.2 [klein] and Qwen-Image (text-to-image) from ``random_weights`` at tiny scale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import torch
from diffusers import (
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    QwenImageEditPlusPipeline,
    QwenImageTransformer2DModel,
)
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from openreel.engines.base import GenerationOutput, RenderJob
from openreel.engines.diffusers.adapters.base import StepFn
from openreel.engines.diffusers.adapters.image_edit import Flux2Klein, QwenImageEdit
from openreel.engines.diffusers.adapters.text2image import QwenImage
from openreel.engines.diffusers.random_weights import (
    WORDS,
    save_flux2_klein,
    save_qwen_image,
)
from openreel.engines.diffusers.spec import ModelSpec
from tests.fakes.tiny_wan import recording

SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|image_pad|>", "<|video_pad|>",
]  # fmt: skip


def tiny_qwen_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"<unk>": 0} | {t: 1 + i for i, t in enumerate(SPECIAL)}
    vocab |= {w: len(vocab) + i for i, w in enumerate(WORDS)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        additional_special_tokens=SPECIAL[1:],
    )


def save_tiny_qwen_edit(path: Path) -> Path:
    """Write a tiny QwenImageEditPlus pipeline to ``path`` (sizes of diffusers' own tests)."""
    tokenizer = tiny_qwen_tokenizer()
    ids = {token: cast(int, tokenizer.convert_tokens_to_ids(token)) for token in SPECIAL}
    # Keys Qwen2_5_VLConfig takes through **kwargs (its annotated signature omits them).
    top_level: dict[str, Any] = {
        "hidden_size": 16,
        "vocab_size": 64,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
    }
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 2,
            "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 64,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default"},
            "rope_theta": 1000000.0,
        },
        vision_config={
            "depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2,
            "out_hidden_size": 16,
        },
        **top_level,
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )  # fmt: skip
    torch.manual_seed(0)
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=2, attention_head_dim=16,
        num_attention_heads=3, joint_attention_dim=16, guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKLQwenImage(
        base_dim=24, z_dim=4, dim_mult=[1, 2, 4], num_res_blocks=1,
        temperal_downsample=[False, True], latents_mean=[0.0] * 4, latents_std=[1.0] * 4,
    )  # fmt: skip
    from openreel.engines.diffusers.adapters.image_edit import still_image_processor

    # Save the parts, then the pipeline with the processor the published weights name.
    (path / "processor").mkdir(parents=True)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56).save_pretrained(
        path / "processor"
    )
    tokenizer.save_pretrained(path / "tokenizer")
    processor = still_image_processor(path)
    pipeline: Any = QwenImageEditPlusPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        processor=processor,
        transformer=transformer,
    )
    pipeline.save_pretrained(path)
    index = json.loads((path / "model_index.json").read_text())
    index["processor"] = ["transformers", "Qwen2VLProcessor"]
    (path / "model_index.json").write_text(json.dumps(index, indent=2))
    return path


class SmallQwenImageEdit(QwenImageEdit):
    """The real adapter, with the pipeline's condition sizes shrunk to match tiny weights
    (the published model encodes references at about 384² for the VL model and 1024² for the
    VAE: minutes per step on a CPU even with tiny layers)."""

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as module

        module.CONDITION_IMAGE_SIZE, module.VAE_IMAGE_SIZE = 56 * 56, 32 * 32
        output: GenerationOutput = super().generate(pipeline, job, spec, on_step)
        return output


RecordingQwenImageEdit = recording(SmallQwenImageEdit)


def save_tiny_flux2_klein(path: Path) -> Path:
    """Write a tiny FLUX.2 [klein] pipeline to ``path``."""
    return save_flux2_klein(path, scale="tiny")


def save_tiny_qwen_image(path: Path) -> Path:
    """Write a tiny Qwen-Image text-to-image pipeline to ``path``."""
    return save_qwen_image(path, scale="tiny")


RecordingFlux2Klein = recording(Flux2Klein)
RecordingQwenImage = recording(QwenImage)
