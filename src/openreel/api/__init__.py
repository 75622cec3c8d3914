"""HTTP layer: Kling-shaped routes, auth dependency, error handlers, request ids."""

from __future__ import annotations
