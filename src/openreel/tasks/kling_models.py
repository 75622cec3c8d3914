"""Kling's model catalogue: every model name Kling lists, the kinds of task each serves, and
what each allows. One table (``CATALOGUE``), read by the task rules and ``/openreel/v1/limits``.

A request naming a real Kling model must satisfy that model's rules, whatever engine serves
it, so openreel behaves as a faithful double. Custom model names follow their engine's rules.

Sources (as of 2026-12-03): the capability map of Kling's API reference (spec §7, "[K-REF]"),
Kling's 2026-05 capability map and updates page as mirrored in aself101/kling-api
(``docs/api/kling-updates-api.md``, fetched 2026-09-20; spec addendum), and Kling's image
generation page (spec §6.5). Where those disagree, the newer map wins (docs/compat.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openreel.wire.families import TaskKind


@dataclass(frozen=True)
class VideoModelRules:
    # (mode, duration) pairs where the feature is allowed; empty = never.
    tail: frozenset[tuple[str, str]]
    motion_brush: frozenset[tuple[str, str]]
    camera_simple: frozenset[tuple[str, str]]
    fps: int
    # Short side in px per mode; "master" models have one size whatever the mode.
    short_side: dict[str, int]
    sound_pro_only: bool = False


@dataclass(frozen=True)
class CatalogueEntry:
    """One Kling model: the kinds it serves and, for video kinds, its rules per kind."""

    name: str
    video: dict[TaskKind, VideoModelRules] = field(default_factory=dict)
    images: frozenset[TaskKind] = frozenset()  # image kinds it serves
    source: str = "K-REF"

    @property
    def kinds(self) -> frozenset[TaskKind]:
        return frozenset(self.video) | self.images


_ALL = frozenset({("std", "5"), ("std", "10"), ("pro", "5"), ("pro", "10")})
_PRO = frozenset({("pro", "5"), ("pro", "10")})
_FIVE = frozenset({("std", "5"), ("pro", "5")})
_STD_FIVE = frozenset({("std", "5")})
_NONE: frozenset[tuple[str, str]] = frozenset()
_STD_PRO = {"std": 720, "pro": 1080}
_720 = {"std": 720, "pro": 720}
_1080 = {"std": 1080, "pro": 1080}

I2V = TaskKind.IMAGE2VIDEO
T2V = TaskKind.TEXT2VIDEO
MI2V = TaskKind.MULTI_IMAGE2VIDEO
T2I = TaskKind.IMAGE_GENERATION
MI2I = TaskKind.MULTI_IMAGE2IMAGE


def _same(kinds: tuple[TaskKind, ...], rules: VideoModelRules) -> dict[TaskKind, VideoModelRules]:
    return dict.fromkeys(kinds, rules)


CATALOGUE: tuple[CatalogueEntry, ...] = (
    # Video, legacy design ("/v1/videos/..." with model_name).
    CatalogueEntry(
        "kling-v1",
        {
            I2V: VideoModelRules(_FIVE, _FIVE, _NONE, 30, _STD_PRO),
            # Camera control on text2video: kling-v1 std 5 s only (K-REF map).
            T2V: VideoModelRules(_NONE, _NONE, _STD_FIVE, 30, _STD_PRO),
        },
        frozenset({T2I}),
    ),
    CatalogueEntry(
        "kling-v1-5",
        {
            I2V: VideoModelRules(
                _PRO, frozenset({("pro", "5")}), frozenset({("pro", "5")}), 30, _STD_PRO
            )
        },
        frozenset({T2I}),
    ),
    CatalogueEntry(
        "kling-v1-6",
        {
            I2V: VideoModelRules(_PRO, _NONE, _NONE, 30, _STD_PRO),
            T2V: VideoModelRules(_NONE, _NONE, _NONE, 24, _STD_PRO),
            MI2V: VideoModelRules(_NONE, _NONE, _NONE, 30, _STD_PRO),
        },
    ),
    CatalogueEntry(
        "kling-v2-master", _same((I2V, T2V), VideoModelRules(_NONE, _NONE, _NONE, 24, _720))
    ),
    CatalogueEntry(
        "kling-v2-1",
        {I2V: VideoModelRules(_PRO, _NONE, _NONE, 24, _STD_PRO)},
        frozenset({T2I, MI2I}),
    ),
    CatalogueEntry(
        "kling-v2-1-master", _same((I2V, T2V), VideoModelRules(_NONE, _NONE, _NONE, 24, _1080))
    ),
    CatalogueEntry(
        "kling-v2-5-turbo",
        _same((I2V, T2V), VideoModelRules(_PRO, _NONE, _NONE, 24, _1080)),
        source="K-REF; 2026-05 map (tail at 1080p/pro only)",
    ),
    CatalogueEntry(
        "kling-v2-6",
        _same((I2V, T2V), VideoModelRules(_PRO, _NONE, _NONE, 24, _STD_PRO, sound_pro_only=True)),
        source="2026-05 map (native audio: sound on in pro)",
    ),
    CatalogueEntry(
        "kling-v3",
        _same((I2V, T2V), VideoModelRules(_ALL, _NONE, _NONE, 24, _STD_PRO)),
        frozenset({T2I}),
        source="2026-05 map (3-15 s upstream; openreel takes 5 and 10, see docs/compat.md)",
    ),
    # Image-only models.
    CatalogueEntry("kling-v2", images=frozenset({T2I, MI2I})),
    CatalogueEntry("kling-v2-new", images=frozenset({T2I}), source="K-IMG (restyle)"),
    CatalogueEntry("kling-v3-omni", images=frozenset({T2I}), source="2026-05 map"),
    CatalogueEntry("kling-image-o1", images=frozenset({T2I}), source="2026-05 map"),
)

_BY_NAME = {entry.name: entry for entry in CATALOGUE}


def video_models(kind: TaskKind) -> dict[str, VideoModelRules]:
    """The Kling models that render ``kind`` videos, with their rules, in catalogue order."""
    return {e.name: e.video[kind] for e in CATALOGUE if kind in e.video}


IMAGE2VIDEO_MODELS = video_models(I2V)
TEXT2VIDEO_MODELS = video_models(T2V)
MULTI_IMAGE2VIDEO_MODELS = video_models(MI2V)
MULTI_IMAGE2IMAGE_MODELS = frozenset(e.name for e in CATALOGUE if MI2I in e.images)
IMAGE_GENERATION_MODELS = frozenset(e.name for e in CATALOGUE if T2I in e.images)

DEFAULT_MODEL: dict[TaskKind, str] = {
    TaskKind.IMAGE2VIDEO: "kling-v1",
    TaskKind.TEXT2VIDEO: "kling-v1",
    TaskKind.MULTI_IMAGE2VIDEO: "kling-v1-6",
    TaskKind.MULTI_IMAGE2IMAGE: "kling-v2-1",
    TaskKind.IMAGE_GENERATION: "kling-v1",
}

# Defaults for custom model names served by an engine without Kling's per-model map.
CUSTOM_VIDEO_RULES = VideoModelRules(_ALL, _ALL, _ALL, 24, _STD_PRO)


def kling_models_for(kind: TaskKind) -> frozenset[str]:
    return frozenset(e.name for e in CATALOGUE if kind in e.kinds)


def video_rules_for(kind: TaskKind, model: str) -> VideoModelRules:
    entry = _BY_NAME.get(model)
    if entry is not None and kind in entry.video:
        return entry.video[kind]
    return CUSTOM_VIDEO_RULES


ALL_KLING_MODELS = frozenset(_BY_NAME)
