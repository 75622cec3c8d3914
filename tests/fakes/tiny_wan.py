"""Tiny, randomly initialised Wan image-to-video weights, built in code and saved the way real
weights are published (``save_pretrained``), so the engine loads them through its real path.

Component sizes follow diffusers' own fast tests; the tokenizer is built offline with the
``tokenizers`` library (no Hub access).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import (
    AutoencoderKLWan,
    FlowMatchEulerDiscreteScheduler,
    WanImageToVideoPipeline,
    WanTransformer3DModel,
    WanVACEPipeline,
    WanVACETransformer3DModel,
)
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    CLIPVisionModel,
    PreTrainedTokenizerFast,
    T5Config,
    UMT5EncoderModel,
)

from openreel.engines.base import GenerationJob, GenerationOutput
from openreel.engines.diffusers.adapters.base import StepFn
from openreel.engines.diffusers.adapters.vace import WanVace
from openreel.engines.diffusers.adapters.wan import WanFirstLastFrame, WanImageToVideo
from openreel.engines.diffusers.spec import ModelSpec

WORDS = "a the cat dog zoom in pan left right turns head looks up walks camera slowly".split()


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2} | {w: 3 + i for i, w in enumerate(WORDS)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def _vae_and_text_encoder() -> tuple[AutoencoderKLWan, UMT5EncoderModel]:
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )  # fmt: skip
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        T5Config(vocab_size=1103, d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=5,
                 relative_attention_num_buckets=8)
    ).eval()  # fmt: skip
    return vae, text_encoder


def save_tiny_wan(path: Path, *, first_last_frame: bool) -> Path:
    """Write a tiny Wan I2V (or first-and-last-frame) pipeline to ``path``."""
    clip_side = 4  # CLIP tokens per image: 4*4 + 1
    vae, text_encoder = _vae_and_text_encoder()
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=4,
        pos_embed_seq_len=2 * (clip_side * clip_side + 1) if first_last_frame else None,
    )  # fmt: skip
    torch.manual_seed(0)
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                         num_attention_heads=2, image_size=clip_side, intermediate_size=16,
                         patch_size=1)
    ).eval()  # fmt: skip
    pipeline = WanImageToVideoPipeline(
        tokenizer=tiny_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        image_processor=CLIPImageProcessor(crop_size=clip_side, size=clip_side),
        image_encoder=image_encoder,
        transformer=transformer,
        transformer_2=None,
    )
    pipeline.save_pretrained(path)
    return path


def save_tiny_vace(path: Path) -> Path:
    """Write a tiny Wan VACE pipeline to ``path`` (sizes of diffusers' own VACE tests)."""
    vae, text_encoder = _vae_and_text_encoder()
    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        vace_layers=[0, 2], vace_in_channels=96,
    )  # fmt: skip
    pipeline = WanVACEPipeline(
        tokenizer=tiny_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        transformer=transformer,
    )
    pipeline.save_pretrained(path)
    return path


def _summary(value: Any) -> Any:
    """What a test can compare: pictures as their mean colour (masks: their white fraction),
    conditions as such."""
    if isinstance(value, Image.Image) and value.mode == "L":
        return round(float(np.asarray(value).mean()) / 255.0, 4)
    if isinstance(value, Image.Image):
        return [round(float(v), 1) for v in np.asarray(value).reshape(-1, 3).mean(0)]
    if isinstance(value, list):
        return [_summary(v) for v in value]
    if hasattr(value, "frame_index") and hasattr(value, "image"):
        return {"frame_index": value.frame_index, "image": _summary(value.image)}
    return value if isinstance(value, str | int | float) else None


def recording(base: type[Any]) -> type[Any]:
    """``base`` (a real adapter) with a spy between it and the pipeline that appends what each
    call received to ``calls.jsonl`` beside the weights. Tiny random weights barely react to
    their conditions, so tests look at what reached the pipeline instead of at the pixels."""

    class Recording(base):  # type: ignore[misc, valid-type]
        def generate(
            self, pipeline: Any, job: GenerationJob, spec: ModelSpec, on_step: StepFn
        ) -> GenerationOutput:
            log = spec.weights_path(job.model_name) / "calls.jsonl"

            class Spy:
                def __getattr__(self, name: str) -> Any:
                    return getattr(pipeline, name)

                def __call__(self, **kwargs: Any) -> Any:
                    for name, value in kwargs.items():  # picture lists, whole, for the pixels
                        if isinstance(value, list) and value and isinstance(value[0], Image.Image):
                            arrays = [np.asarray(v) for v in value]
                            if len({a.shape for a in arrays}) == 1:
                                np.save(log.parent / f"{job.task_id}-{name}.npy", np.stack(arrays))
                    seen = {k: _summary(v) for k, v in kwargs.items()}
                    seen = {k: v for k, v in seen.items() if v is not None}
                    with log.open("a") as file:
                        file.write(json.dumps({"task": job.task_id, **seen}) + "\n")
                    return pipeline(**kwargs)

            output: GenerationOutput = super().generate(Spy(), job, spec, on_step)
            return output

    Recording.__name__ = Recording.__qualname__ = f"Recording{base.__name__}"
    return Recording


RecordingFirstLastFrame = recording(WanFirstLastFrame)
RecordingImageToVideo = recording(WanImageToVideo)
RecordingVace = recording(WanVace)
