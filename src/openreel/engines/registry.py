"""The engines this process can run, by name."""

from __future__ import annotations

from collections.abc import Mapping

from openreel.engines.base import Engine
from openreel.engines.diffusers.spec import ModelSpec


def build_engines(
    diffusers_models: Mapping[str, ModelSpec], *, runs_jobs: bool = True
) -> dict[str, Engine]:
    """The classic engine always; the diffusers engine when models are configured for it
    (``EngineConfigError`` naming the problem if its weights are missing, unless this process
    runs no jobs: an API node only needs to know what each model can do)."""
    from openreel.engines.classic import ClassicEngine

    engines: dict[str, Engine] = {"classic": ClassicEngine()}
    if diffusers_models:
        from openreel.engines.diffusers.engine import DiffusersEngine

        engines["diffusers"] = DiffusersEngine(dict(diffusers_models), check_weights=runs_jobs)
    return engines
