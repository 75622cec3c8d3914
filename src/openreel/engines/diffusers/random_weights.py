"""Randomly initialised pipelines saved the way real weights are published (``save_pretrained``),
so the engine loads them through its real path without a model hub.

Two scales:

- ``tiny``: the sizes of diffusers' own fast tests, for CPU tests (seconds per task);
- ``full``: the published architectures (Wan2.1-I2V-14B, LTX-Video-2B) for ``bench/gpu.py``.
  Random weights cost the same to run as real ones. The text and image encoders run once per
  clip, so at full scale they keep their real widths (what the transformer sees) but only
  two layers, which saves disk and load time, not denoising time.

Tokenizers are built offline with the ``tokenizers`` library. Needs the GPU extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

__all__ = ["Scale", "WORDS", "save_ltx", "save_vace", "save_wan", "word_tokenizer"]

Scale = Literal["tiny", "full"]
WORDS = "a the cat dog zoom in pan left right turns head looks up walks camera slowly".split()

# Wan2.1-I2V-14B-720P-Diffusers transformer/config.json.
_WAN_14B = {
    "patch_size": (1, 2, 2), "num_attention_heads": 40, "attention_head_dim": 128,
    "in_channels": 36, "out_channels": 16, "text_dim": 4096, "freq_dim": 256, "ffn_dim": 13824,
    "num_layers": 40, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6, "image_dim": 1280, "added_kv_proj_dim": 5120, "rope_max_seq_len": 1024,
}  # fmt: skip
_WAN_TINY = {
    "patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12,
    "in_channels": 36, "out_channels": 16, "text_dim": 32, "freq_dim": 256, "ffn_dim": 32,
    "num_layers": 2, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads",
    "rope_max_seq_len": 32, "image_dim": 4,
}  # fmt: skip


def word_tokenizer(words: list[str] = WORDS) -> PreTrainedTokenizerFast:
    """A T5-style tokenizer (pad 0, eos 1, unk 2) over ``words``."""
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2} | {w: 3 + i for i, w in enumerate(words)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def _built(factory: Any, *args: Any, dtype: torch.dtype, **kwargs: Any) -> Any:
    """``factory(...)`` with its parameters created directly in ``dtype`` (a 14B model in
    float32 would need twice the memory), seeded for repeatable weights."""
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return factory(*args, **kwargs)
    finally:
        torch.set_default_dtype(previous)


def _t5_config(scale: Scale, d_model_full: int) -> Any:
    from transformers import T5Config

    if scale == "tiny":
        return T5Config(
            vocab_size=1103, d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=5,
            relative_attention_num_buckets=8,
        )  # fmt: skip
    return T5Config(
        vocab_size=len(WORDS) + 3, d_model=d_model_full, d_ff=10240, d_kv=64, num_heads=64,
        num_layers=2, relative_attention_num_buckets=32,
    )  # fmt: skip


def _wan_shared(scale: Scale, dtype: torch.dtype) -> dict[str, Any]:
    """The tokenizer, text encoder, VAE and scheduler every Wan pipeline has."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler
    from transformers import UMT5EncoderModel

    tiny = scale == "tiny"
    vae_config: dict[str, Any] = (
        {"base_dim": 3, "z_dim": 16, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1,
         "temperal_downsample": [False, True, True]}
        if tiny
        else {}  # the defaults are Wan2.1's VAE
    )  # fmt: skip
    return {
        "tokenizer": word_tokenizer(),
        # The Wan docs advise keeping the VAE in float32.
        "vae": _built(AutoencoderKLWan, dtype=torch.float32, **vae_config),
        "text_encoder": _built(UMT5EncoderModel, _t5_config(scale, 4096), dtype=dtype).eval(),
        # Wan's published scheduler (Wan2.1-I2V-14B-720P-Diffusers scheduler_config.json).
        "scheduler": UniPCMultistepScheduler(
            prediction_type="flow_prediction",
            use_flow_sigmas=True,
            num_train_timesteps=1000,
            flow_shift=5.0,
        ),  # fmt: skip
    }


def save_wan(
    path: Path, *, scale: Scale, first_last_frame: bool = False, dtype: torch.dtype = torch.float32
) -> Path:
    """A Wan I2V (or first-and-last-frame) pipeline at ``path``."""
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    tiny = scale == "tiny"
    config = dict(_WAN_TINY if tiny else _WAN_14B)
    clip_side, clip_patch = (4, 1) if tiny else (224, 14)
    if first_last_frame:  # CLIP tokens of both pictures
        config["pos_embed_seq_len"] = 2 * ((clip_side // clip_patch) ** 2 + 1)
    vision = (
        CLIPVisionConfig(
            hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2,
            image_size=clip_side, intermediate_size=16, patch_size=clip_patch,
        )
        if tiny
        else CLIPVisionConfig(
            hidden_size=1280, projection_dim=1024, num_hidden_layers=2, num_attention_heads=16,
            image_size=clip_side, intermediate_size=5120, patch_size=clip_patch,
        )
    )  # fmt: skip
    pipeline: Any = WanImageToVideoPipeline(
        **_wan_shared(scale, dtype),
        image_processor=CLIPImageProcessor(crop_size=clip_side, size=clip_side),
        image_encoder=_built(CLIPVisionModel, vision, dtype=dtype).eval(),
        transformer=_built(WanTransformer3DModel, dtype=dtype, **config),
        transformer_2=None,
    )
    pipeline.save_pretrained(path)
    return path


def save_vace(path: Path, *, scale: Scale, dtype: torch.dtype = torch.float32) -> Path:
    """A Wan VACE pipeline at ``path`` (full: Wan2.1-VACE-14B's transformer)."""
    from diffusers import WanVACEPipeline, WanVACETransformer3DModel

    config = {
        key: value
        for key, value in (_WAN_TINY if scale == "tiny" else _WAN_14B).items()
        if key not in ("image_dim", "added_kv_proj_dim")  # no CLIP image branch
    }
    config["in_channels"] = 16
    if scale == "tiny":
        config |= {"num_layers": 3, "vace_layers": [0, 2], "vace_in_channels": 96}
    else:
        config |= {"vace_layers": list(range(0, 40, 5)), "vace_in_channels": 96}
    pipeline: Any = WanVACEPipeline(
        **_wan_shared(scale, dtype),
        transformer=_built(WanVACETransformer3DModel, dtype=dtype, **config),
    )
    pipeline.save_pretrained(path)
    return path


def save_ltx(path: Path, *, scale: Scale, dtype: torch.dtype = torch.float32) -> Path:
    """An LTX-Video ``LTXConditionPipeline`` at ``path`` (full: the 2B transformer)."""
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5EncoderModel

    tiny = scale == "tiny"
    transformer_config: dict[str, Any] = (
        {"in_channels": 8, "out_channels": 8, "patch_size": 1, "patch_size_t": 1,
         "num_attention_heads": 4, "attention_head_dim": 8, "cross_attention_dim": 32,
         "num_layers": 1, "caption_channels": 32}
        if tiny
        else {}  # the defaults are LTX-Video 2B's
    )  # fmt: skip
    vae_config: dict[str, Any] = (
        {"in_channels": 3, "out_channels": 3, "latent_channels": 8,
         "block_out_channels": (8, 8, 8, 8), "decoder_block_out_channels": (8, 8, 8, 8),
         "layers_per_block": (1, 1, 1, 1, 1), "decoder_layers_per_block": (1, 1, 1, 1, 1),
         "spatio_temporal_scaling": (True, True, False, False),
         "decoder_spatio_temporal_scaling": (True, True, False, False),
         "decoder_inject_noise": (False, False, False, False, False),
         "upsample_residual": (False, False, False, False), "upsample_factor": (1, 1, 1, 1),
         "timestep_conditioning": False, "patch_size": 1, "patch_size_t": 1,
         "encoder_causal": True, "decoder_causal": False}
        if tiny
        else {}
    )  # fmt: skip
    vae = _built(AutoencoderKLLTXVideo, dtype=dtype, **vae_config)
    if tiny:  # diffusers' fast tests encode and decode the tiny clips whole
        vae.use_framewise_encoding = False
        vae.use_framewise_decoding = False
    pipeline: Any = LTXConditionPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=_built(T5EncoderModel, _t5_config(scale, 4096), dtype=dtype).eval(),
        tokenizer=word_tokenizer(),
        transformer=_built(LTXVideoTransformer3DModel, dtype=dtype, **transformer_config),
    )
    pipeline.save_pretrained(path)
    return path
