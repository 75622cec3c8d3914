"""Randomly initialised pipelines saved the way real weights are published (``save_pretrained``),
so the engine loads them through its real path without a model hub.

Two scales:

- ``tiny``: the sizes of diffusers' own fast tests, for CPU tests (seconds per task);
- ``full``: the published architectures (Wan2.1-I2V-14B and T2V-14B, LTX-Video-2B, FLUX.2 [klein]
  4B, Qwen-Image 20B) for ``bench/gpu.py``.
  Random weights cost the same to run as real ones. The text and image encoders run once per
  clip, so at full scale they keep their real widths (what the transformer sees) but only
  two layers, which saves disk and load time, not denoising time.

Tokenizers are built offline with the ``tokenizers`` library. Needs the GPU extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from tokenizers import Regex, Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

__all__ = [
    "Scale",
    "WORDS",
    "qwen_tokenizer",
    "save_flux2_klein",
    "save_ltx",
    "save_qwen_image",
    "save_vace",
    "save_wan",
    "save_wan_t2v",
    "word_tokenizer",
]

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


def save_wan_t2v(path: Path, *, scale: Scale, dtype: torch.dtype = torch.float32) -> Path:
    """A Wan text-to-video ``WanPipeline`` at ``path`` (full: Wan2.1-T2V-14B's transformer, which
    is the I2V one without the CLIP image branch and with 16 input channels)."""
    from diffusers import WanPipeline, WanTransformer3DModel

    config = {
        key: value
        for key, value in (_WAN_TINY if scale == "tiny" else _WAN_14B).items()
        if key not in ("image_dim", "added_kv_proj_dim")
    }
    config["in_channels"] = 16
    pipeline: Any = WanPipeline(
        **_wan_shared(scale, dtype),
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


# Qwen2.5-VL's chat tokens (the ids the text encoder's config names).
QWEN_SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|image_pad|>", "<|video_pad|>",
]  # fmt: skip


def qwen_tokenizer() -> PreTrainedTokenizerFast:
    """A Qwen2.5-VL-style tokenizer over ``WORDS`` with the chat and vision special tokens.

    White space is a token of its own, as in Qwen's byte-level BPE, so the pipelines' prompt
    templates take at least as many tokens as the count they cut off the front (34 for
    Qwen-Image); a word-only split would leave nothing of a short prompt.
    """
    vocab = {"<unk>": 0} | {t: 1 + i for i, t in enumerate(QWEN_SPECIAL)}
    vocab |= {w: len(vocab) + i for i, w in enumerate(WORDS)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"\s|\w+|[^\w\s]"), behavior="isolated")
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        additional_special_tokens=QWEN_SPECIAL[1:],
    )


def qwen_vl_text_encoder(scale: Scale, tokenizer: Any, dtype: torch.dtype) -> Any:
    """A Qwen2.5-VL encoder (full: Qwen2.5-VL-7B's text width, two layers; the vision tower,
    which text-to-image never runs, tiny)."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in QWEN_SPECIAL}
    hidden, heads, kv_heads, ffn, mrope = (
        (16, 2, 2, 16, [1, 1, 2]) if scale == "tiny" else (3584, 28, 4, 18944, [16, 24, 24])
    )
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": hidden, "intermediate_size": ffn, "num_hidden_layers": 2,
            "num_attention_heads": heads, "num_key_value_heads": kv_heads, "vocab_size": 64,
            "rope_scaling": {"mrope_section": mrope, "rope_type": "default"},
            "rope_theta": 1000000.0, "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
        },
        vision_config={
            "depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2,
            "out_hidden_size": hidden,
        },
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )  # fmt: skip
    return _built(Qwen2_5_VLForConditionalGeneration, config, dtype=dtype).eval()


def save_qwen_image(path: Path, *, scale: Scale, dtype: torch.dtype = torch.float32) -> Path:
    """A Qwen-Image text-to-image ``QwenImagePipeline`` at ``path`` (full: the 20B MMDiT and
    the published VAE, whose configs are diffusers' defaults)."""
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImagePipeline,
        QwenImageTransformer2DModel,
    )

    tiny = scale == "tiny"
    transformer_config: dict[str, Any] = (
        {"patch_size": 2, "in_channels": 16, "out_channels": 4, "num_layers": 2,
         "attention_head_dim": 16, "num_attention_heads": 3, "joint_attention_dim": 16,
         "guidance_embeds": False, "axes_dims_rope": (8, 4, 4)}
        if tiny
        else {}
    )  # fmt: skip
    vae_config: dict[str, Any] = (
        {"base_dim": 24, "z_dim": 4, "dim_mult": [1, 2, 4], "num_res_blocks": 1,
         "temperal_downsample": [False, True], "latents_mean": [0.0] * 4,
         "latents_std": [1.0] * 4}
        if tiny
        else {}
    )  # fmt: skip
    tokenizer = qwen_tokenizer()
    pipeline: Any = QwenImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_built(AutoencoderKLQwenImage, dtype=torch.float32 if tiny else dtype, **vae_config),
        text_encoder=qwen_vl_text_encoder(scale, tokenizer, dtype),
        tokenizer=tokenizer,
        transformer=_built(QwenImageTransformer2DModel, dtype=dtype, **transformer_config),
    )
    pipeline.save_pretrained(path)
    return path


# FLUX.2 [klein] 4B (black-forest-labs/FLUX.2-klein-4B): 5 double and 20 single blocks of
# 24 heads × 128, 128 latent channels, text from three layers of Qwen3-4B (3 × 2560).
_FLUX2_KLEIN_4B = {
    "patch_size": 1, "in_channels": 128, "num_layers": 5, "num_single_layers": 20,
    "attention_head_dim": 128, "num_attention_heads": 24, "joint_attention_dim": 7680,
    "timestep_guidance_channels": 256, "axes_dims_rope": (32, 32, 32, 32),
    "guidance_embeds": False,
}  # fmt: skip
_FLUX2_TINY = {
    "patch_size": 1, "in_channels": 16, "num_layers": 1, "num_single_layers": 1,
    "attention_head_dim": 16, "num_attention_heads": 2, "joint_attention_dim": 48,
    "timestep_guidance_channels": 32, "axes_dims_rope": (4, 4, 4, 4), "guidance_embeds": False,
}  # fmt: skip


def save_flux2_klein(path: Path, *, scale: Scale, dtype: torch.dtype = torch.float32) -> Path:
    """A FLUX.2 [klein] ``Flux2KleinPipeline`` (step-distilled) at ``path``. The pipeline reads
    the text encoder's layers 9, 18 and 27, so it keeps 28 layers at either scale (tiny: 16
    wide; full: Qwen3-4B's widths)."""
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tiny = scale == "tiny"
    tokenizer = word_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    text = (
        Qwen3Config(
            vocab_size=64, hidden_size=16, intermediate_size=16, num_hidden_layers=28,
            num_attention_heads=2, num_key_value_heads=1, head_dim=8,
            max_position_embeddings=1024,
        )
        if tiny
        else Qwen3Config(
            vocab_size=64, hidden_size=2560, intermediate_size=9728, num_hidden_layers=28,
            num_attention_heads=32, num_key_value_heads=8, head_dim=128,
            max_position_embeddings=40960,
        )
    )  # fmt: skip
    # Tiny: three blocks, so the VAE downsamples by 4 (the real one by 8): the reference
    # pictures (at their own size, >= 300 px) stay a few thousand tokens, not 40,000.
    vae_config: dict[str, Any] = (
        {"block_out_channels": (8, 8, 8), "down_block_types": ("DownEncoderBlock2D",) * 3,
         "up_block_types": ("UpDecoderBlock2D",) * 3, "layers_per_block": 1,
         "latent_channels": 4, "norm_num_groups": 4, "sample_size": 32}
        if tiny
        else {}  # the defaults are FLUX.2's VAE
    )  # fmt: skip
    config = _FLUX2_TINY if tiny else _FLUX2_KLEIN_4B
    pipeline: Any = Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_built(AutoencoderKLFlux2, dtype=torch.float32 if tiny else dtype, **vae_config),
        text_encoder=_built(Qwen3ForCausalLM, text, dtype=dtype).eval(),
        tokenizer=tokenizer,
        transformer=_built(Flux2Transformer2DModel, dtype=dtype, **config),
        is_distilled=True,
    )
    pipeline.save_pretrained(path)
    return path
