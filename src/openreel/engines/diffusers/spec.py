"""Which weights serve which ``model_name``, and how: one ``ModelSpec`` per model.

In ``openreel.toml``::

    [routes]
    "kling-v2-1" = "diffusers"

    [diffusers_models."kling-v2-1"]
    adapter = "wan_i2v"                      # or "package.module:Class"
    weights = "/models/Wan2.1-I2V-14B-720P-Diffusers"
    dtype = "bfloat16"
    steps = 30

Weights are a local ``save_pretrained`` directory, or a Hugging Face repo id already in the
local cache (``hf_repo``): nothing is ever downloaded. A missing directory is an error when
the server starts, naming the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EngineConfigError", "LoraSpec", "ModelSpec"]


class EngineConfigError(Exception):
    """The engine cannot start as configured (missing weights, unknown adapter...)."""


class LoraSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    weight: float = 1.0


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adapter: str
    weights: str | None = None
    hf_repo: str | None = None
    revision: str | None = None
    device: str = Field(default="auto", description="cuda, cpu, or auto (cuda when present)")
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    steps: int = Field(default=30, ge=1)
    guidance_scale: float = Field(default=5.0, ge=0)
    fps: int = Field(default=16, ge=1, description="the model's native frame rate")
    max_frames: int = Field(default=81, ge=1)
    area: int = Field(
        default=480 * 832,
        ge=64,
        description="output pixels (video: input aspect kept; images: a cap)",
    )
    negative_prompt: str = ""
    # Speed options (see docs/engines.md).
    attention_backend: str | None = None
    compile: bool = False
    vae_tiling: bool = False
    cpu_offload: Literal["none", "model", "sequential"] = "none"
    fp8: bool = False
    loras: list[LoraSpec] = Field(default_factory=list)

    def weights_path(self, model_name: str) -> Path:
        """The local directory of the weights; ``EngineConfigError`` naming it if missing."""
        if self.weights:
            path = Path(self.weights).expanduser()
            if not path.is_dir():
                raise EngineConfigError(
                    f"diffusers model {model_name!r}: weights directory {path} does not exist"
                )
            return path
        if self.hf_repo:
            try:
                from huggingface_hub import snapshot_download
            except ImportError:
                raise EngineConfigError(
                    f"diffusers model {model_name!r}: hf_repo needs the GPU extra "
                    "(pip install 'openreel[gpu]')"
                ) from None
            try:
                found = snapshot_download(
                    self.hf_repo, revision=self.revision, local_files_only=True
                )
            except Exception:
                raise EngineConfigError(
                    f"diffusers model {model_name!r}: {self.hf_repo} is not in the local "
                    "Hugging Face cache (openreel never downloads weights; fetch them first)"
                ) from None
            return Path(found)
        raise EngineConfigError(f"diffusers model {model_name!r}: set weights or hf_repo")
