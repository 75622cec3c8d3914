"""Kling's model names and what each allows (the capability map of the wire spec, §7).

A request naming a real Kling model must satisfy that model's rules, whatever engine serves
it, so openreel behaves as a faithful double. Custom model names follow their engine's rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from openreel.wire.families import TaskKind


@dataclass(frozen=True)
class VideoModelRules:
    # (mode, duration) pairs where the feature is allowed; None = never.
    tail: frozenset[tuple[str, str]]
    motion_brush: frozenset[tuple[str, str]]
    camera_simple: frozenset[tuple[str, str]]
    fps: int
    # Short side in px per mode; "master" models have one size whatever the mode.
    short_side: dict[str, int]
    sound_pro_only: bool = False


_ALL = frozenset({("std", "5"), ("std", "10"), ("pro", "5"), ("pro", "10")})
_PRO = frozenset({("pro", "5"), ("pro", "10")})
_FIVE = frozenset({("std", "5"), ("pro", "5")})
_NONE: frozenset[tuple[str, str]] = frozenset()
_STD_PRO = {"std": 720, "pro": 1080}

IMAGE2VIDEO_MODELS: dict[str, VideoModelRules] = {
    "kling-v1": VideoModelRules(_FIVE, _FIVE, _NONE, 30, _STD_PRO),
    "kling-v1-5": VideoModelRules(
        _PRO, frozenset({("pro", "5")}), frozenset({("pro", "5")}), 30, _STD_PRO
    ),
    "kling-v1-6": VideoModelRules(_PRO, _NONE, _NONE, 30, _STD_PRO),
    "kling-v2-master": VideoModelRules(_NONE, _NONE, _NONE, 24, {"std": 720, "pro": 720}),
    "kling-v2-1": VideoModelRules(_PRO, _NONE, _NONE, 24, _STD_PRO),
    "kling-v2-1-master": VideoModelRules(_NONE, _NONE, _NONE, 24, {"std": 1080, "pro": 1080}),
    "kling-v2-5-turbo": VideoModelRules(_PRO, _NONE, _NONE, 24, {"std": 1080, "pro": 1080}),
    "kling-v2-6": VideoModelRules(_PRO, _NONE, _NONE, 24, _STD_PRO, sound_pro_only=True),
    "kling-v3": VideoModelRules(_ALL, _NONE, _NONE, 24, _STD_PRO),
}

MULTI_IMAGE2VIDEO_MODELS: dict[str, VideoModelRules] = {
    "kling-v1-6": VideoModelRules(_NONE, _NONE, _NONE, 30, _STD_PRO),
}

MULTI_IMAGE2IMAGE_MODELS = frozenset({"kling-v2", "kling-v2-1"})
IMAGE_GENERATION_MODELS = frozenset(
    {"kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1", "kling-v3"}
)

DEFAULT_MODEL: dict[TaskKind, str] = {
    TaskKind.IMAGE2VIDEO: "kling-v1",
    TaskKind.MULTI_IMAGE2VIDEO: "kling-v1-6",
    TaskKind.MULTI_IMAGE2IMAGE: "kling-v2-1",
    TaskKind.IMAGE_GENERATION: "kling-v1",
}

# Defaults for custom model names served by an engine without Kling's per-model map.
CUSTOM_VIDEO_RULES = VideoModelRules(_ALL, _ALL, _ALL, 24, _STD_PRO)


def kling_models_for(kind: TaskKind) -> frozenset[str]:
    if kind == TaskKind.IMAGE2VIDEO:
        return frozenset(IMAGE2VIDEO_MODELS)
    if kind == TaskKind.MULTI_IMAGE2VIDEO:
        return frozenset(MULTI_IMAGE2VIDEO_MODELS)
    if kind == TaskKind.MULTI_IMAGE2IMAGE:
        return MULTI_IMAGE2IMAGE_MODELS
    return IMAGE_GENERATION_MODELS


ALL_KLING_MODELS = frozenset().union(*(kling_models_for(kind) for kind in TaskKind))
