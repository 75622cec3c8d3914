"""Adapters by name: a built-in name, or ``package.module:Class`` for your own."""

from __future__ import annotations

import importlib

from openreel.engines.diffusers.adapters.base import Adapter
from openreel.engines.diffusers.spec import EngineConfigError

__all__ = ["BUILTIN", "adapter_class"]

# Built-in adapters (each imports torch/diffusers only when it runs).
BUILTIN: dict[str, str] = {
    "wan_i2v": "openreel.engines.diffusers.adapters.wan:WanImageToVideo",
    "wan_flf2v": "openreel.engines.diffusers.adapters.wan:WanFirstLastFrame",
    "wan_t2v": "openreel.engines.diffusers.adapters.wan:WanTextToVideo",
    "wan_vace": "openreel.engines.diffusers.adapters.vace:WanVace",
    "qwen_image_edit": "openreel.engines.diffusers.adapters.image_edit:QwenImageEdit",
    "qwen_image": "openreel.engines.diffusers.adapters.text2image:QwenImage",
    "flux2_klein": "openreel.engines.diffusers.adapters.image_edit:Flux2Klein",
    "ltx_video": "openreel.engines.diffusers.adapters.ltx:LtxVideo",
    "ltx_t2v": "openreel.engines.diffusers.adapters.ltx:LtxTextToVideo",
}


def adapter_class(name: str) -> type[Adapter]:
    target = BUILTIN.get(name, name)
    module_name, _, attribute = target.partition(":")
    if not attribute:
        known = ", ".join(sorted(BUILTIN)) or "none yet"
        raise EngineConfigError(
            f"unknown diffusers adapter {name!r}: use a built-in one ({known}) "
            "or 'package.module:Class'"
        )
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise EngineConfigError(f"diffusers adapter {name!r} cannot be imported: {exc}") from None
    if not isinstance(found, type):
        raise EngineConfigError(f"diffusers adapter {name!r} is not a class")
    return found
