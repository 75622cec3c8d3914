"""The engines this process can run, by name."""

from __future__ import annotations

from openreel.config import Settings
from openreel.engines.base import Engine


def build_engines(settings: Settings) -> dict[str, Engine]:
    """The classic engine always; the diffusers engine when models are configured for it
    (``EngineConfigError`` naming the problem if its weights are missing)."""
    from openreel.engines.classic import ClassicEngine

    engines: dict[str, Engine] = {"classic": ClassicEngine()}
    if settings.diffusers_models:
        from openreel.engines.diffusers.engine import DiffusersEngine

        engines["diffusers"] = DiffusersEngine(settings.diffusers_models)
    return engines
