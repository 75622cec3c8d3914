"""The engines this process can run, by name."""

from __future__ import annotations

from openreel.config import Settings
from openreel.engines.base import Engine


def build_engines(settings: Settings, *, runs_jobs: bool = True) -> dict[str, Engine]:
    """The classic engine always; the diffusers engine when models are configured for it
    (``EngineConfigError`` naming the problem if its weights are missing, unless this process
    runs no jobs: an API node only needs to know what each model can do)."""
    from openreel.engines.classic import ClassicEngine

    engines: dict[str, Engine] = {"classic": ClassicEngine()}
    if settings.diffusers_models:
        from openreel.engines.diffusers.engine import DiffusersEngine

        engines["diffusers"] = DiffusersEngine(settings.diffusers_models, check_weights=runs_jobs)
    return engines
