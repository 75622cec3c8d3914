"""Kling's ``cfg_scale`` as a diffusers pipeline's guidance scale.

Kling takes ``cfg_scale`` in [0, 1] (default 0.5; "higher: less flexibility, closer to the
prompt"). Pipelines take a classifier-free guidance scale where 1 means no guidance and each
model has its own good value (Wan 5, LTX-Video 3, Qwen-Image 4), configured as the model's
``guidance_scale``. The mapping is linear and pinned at both of Kling's landmarks:

    cfg_scale 0    -> 1              (guidance off: the prompt steers least)
    cfg_scale 0.5  -> guidance_scale (Kling's default is the model's default)
    cfg_scale 1    -> 2 * guidance_scale - 1

A request without ``cfg_scale`` gets the model's value. A model configured at 1 or below
(step-distilled weights, which run without guidance) keeps its value whatever the request:
turning guidance on would double the cost and spoil a distilled model's output.
"""

from __future__ import annotations

__all__ = ["KLING_DEFAULT_CFG", "guidance_scale"]

KLING_DEFAULT_CFG = 0.5


def guidance_scale(cfg_scale: float | None, model_scale: float) -> float:
    """The pipeline guidance scale for Kling's ``cfg_scale`` on a model whose own (default)
    guidance scale is ``model_scale``."""
    if cfg_scale is None or model_scale <= 1.0:
        return model_scale
    if not 0.0 <= cfg_scale <= 1.0:
        raise ValueError(f"cfg_scale must be between 0 and 1 (got {cfg_scale})")
    return 1.0 + (model_scale - 1.0) * cfg_scale / KLING_DEFAULT_CFG
