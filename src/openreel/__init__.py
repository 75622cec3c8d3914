"""openreel: a self-hosted server that speaks the Kling generation API wire format."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
