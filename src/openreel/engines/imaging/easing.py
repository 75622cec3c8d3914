"""Easing curves shared by the camera moves and the motion brush."""

from __future__ import annotations


def smoothstep(t: float) -> float:
    """Cubic ease-in/ease-out on [0, 1] (zero velocity at both ends)."""
    t = min(1.0, max(0.0, t))
    return t * t * (3.0 - 2.0 * t)
