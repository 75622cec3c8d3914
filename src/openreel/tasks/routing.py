"""``model_name`` -> engine, by configuration (``routes``), and the engine registry."""

from __future__ import annotations

from dataclasses import dataclass

from openreel.engines.base import Engine
from openreel.tasks.kling_models import ALL_KLING_MODELS
from openreel.wire.errors import ErrorCode, KlingError

FALLBACK = "*"


@dataclass(frozen=True)
class Route:
    engine: Engine
    # True for a real Kling model name: Kling's per-model rules apply.
    kling_rules: bool


class EngineRouter:
    def __init__(self, engines: dict[str, Engine], routes: dict[str, str]) -> None:
        unknown = {name for name in routes.values() if name not in engines}
        if unknown:
            raise ValueError(
                f"routes name unknown engines {sorted(unknown)}; known: {sorted(engines)}"
            )
        self.engines = engines
        self.routes = dict(routes)

    def route(self, model_name: str) -> Route:
        kling = model_name in ALL_KLING_MODELS
        engine_name = self.routes.get(model_name)
        if engine_name is None and kling:
            engine_name = self.routes.get(FALLBACK)
        if engine_name is None:
            known = sorted(set(ALL_KLING_MODELS) | {k for k in self.routes if k != FALLBACK})
            raise KlingError(
                ErrorCode.NOT_FOUND,
                f"model_name: model '{model_name}' does not exist; "
                f"known models: {', '.join(known)}",
            )
        return Route(engine=self.engines[engine_name], kling_rules=kling)

    def custom_models(self) -> list[str]:
        return sorted(k for k in self.routes if k != FALLBACK and k not in ALL_KLING_MODELS)
