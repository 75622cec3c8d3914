"""The engines this process can run, by name."""

from __future__ import annotations

from openreel.config import Settings
from openreel.engines.base import Engine


def build_engines(_settings: Settings) -> dict[str, Engine]:
    from openreel.engines.classic import ClassicEngine

    classic: Engine = ClassicEngine()
    return {classic.name: classic}
