"""CPU engine without model weights: eased camera moves, card collages and cut-out composites."""

from __future__ import annotations

from openreel.engines.classic.engine import ClassicEngine

__all__ = ["ClassicEngine"]
