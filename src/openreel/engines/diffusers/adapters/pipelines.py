"""Loading a diffusers pipeline from the configured weights, with the speed options, on the
configured device and dtype. Imported only in the engine's child process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["device_for", "dtype_for", "load_pipeline"]

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def device_for(spec: ModelSpec) -> str:
    if spec.device != "auto":
        return spec.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def dtype_for(spec: ModelSpec) -> torch.dtype:
    return _DTYPES[spec.dtype]


def load_pipeline(pipeline_class: Any, spec: ModelSpec, model_name: str, **components: Any) -> Any:
    """``from_pretrained`` on the configured weights, offline (``components`` replace the
    saved ones), then the speed options."""
    pipe = pipeline_class.from_pretrained(
        str(spec.weights_path(model_name)),
        dtype=dtype_for(spec),
        local_files_only=True,
        **components,
    )
    pipe.set_progress_bar_config(disable=True)  # progress goes to the task instead
    for lora in spec.loras:
        name = Path(lora.path).stem
        pipe.load_lora_weights(lora.path, adapter_name=name)
    if spec.loras:
        pipe.set_adapters(
            [Path(lora.path).stem for lora in spec.loras], [lora.weight for lora in spec.loras]
        )
    transformer = getattr(pipe, "transformer", None)
    if spec.fp8 and transformer is not None:
        # Weights stored in FP8, computed in the model's dtype (halves transformer memory).
        transformer.enable_layerwise_casting(
            storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype_for(spec)
        )
    if spec.attention_backend and transformer is not None:
        transformer.set_attention_backend(spec.attention_backend)
    if spec.vae_tiling:
        pipe.vae.enable_tiling()
    if spec.cpu_offload == "model":
        pipe.enable_model_cpu_offload()
    elif spec.cpu_offload == "sequential":
        pipe.enable_sequential_cpu_offload()
    else:
        pipe.to(device_for(spec))
    if spec.compile and transformer is not None:
        transformer.compile_repeated_blocks(fullgraph=True)
    return pipe
