"""The request rules a client can check before it sends anything, as one JSON document.

The web playground fetches this (``GET /openreel/v1/limits``) instead of repeating numbers
that could drift: every value is read from the definitions the server itself enforces (the
request models' field constraints, ``media.images``, ``tasks.rules`` and ``tasks.kling_models``).
"""

from __future__ import annotations

from typing import Any, get_args

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel

from openreel.media.images import FORMATS, MAX_ASPECT, MAX_IMAGE_BYTES, MAX_PIXELS, MIN_SIDE
from openreel.tasks.kling_models import (
    DEFAULT_MODEL,
    IMAGE2VIDEO_MODELS,
    TEXT2VIDEO_MODELS,
    VideoModelRules,
    kling_models_for,
)
from openreel.tasks.rules import image_fields, limits_for
from openreel.wire.families import Prefix, TaskKind, family_for_kind
from openreel.wire.requests import (
    CameraConfig,
    CameraType,
    Duration,
    DynamicMask,
    Image2VideoRequest,
    ImageAspectRatio,
    ImageGenerationRequest,
    ImageItem,
    Mode,
    MultiImage2ImageRequest,
    MultiImage2VideoRequest,
    Resolution,
    SubjectImageItem,
    Text2VideoRequest,
    VideoAspectRatio,
)

__all__ = ["MAX_BODY_BYTES", "client_limits", "max_images_per_request"]

PREFIX = Prefix.KLING  # the prefix the playground and the SDK use against openreel


def _bounds(model: type[BaseModel], name: str) -> dict[str, Any]:
    """``min``/``max`` of a field as its pydantic constraints state them (value or length)."""
    out: dict[str, Any] = {}
    for item in model.model_fields[name].metadata:
        if isinstance(item, Ge):
            out["min"] = item.ge
        elif isinstance(item, MinLen):
            out["min"] = item.min_length
        elif isinstance(item, Le):
            out["max"] = item.le
        elif isinstance(item, MaxLen):
            out["max"] = item.max_length
    return out


def max_images_per_request() -> int:
    """The most pictures one create can carry, from the request models' own bounds."""
    masks = int(_bounds(Image2VideoRequest, "dynamic_masks")["max"])
    return max(
        3 + masks,  # image2video: image, image_tail, static_mask, dynamic_masks[].mask
        int(_bounds(MultiImage2VideoRequest, "image_list")["max"]),
        int(_bounds(MultiImage2ImageRequest, "subject_image_list")["max"]) + 2,  # scene, style
    )


# Every picture at the 10 MB cap as base64 (4 characters per 3 bytes), plus 1 MiB for the rest
# of the JSON (prompts, trajectories of up to 77 points per mask...): about 127 MB.
MAX_BODY_BYTES = max_images_per_request() * ((MAX_IMAGE_BYTES + 2) // 3 * 4) + 1024 * 1024


def _aspect_rules(sample: Any) -> dict[str, bool]:
    """Field name -> whether Kling's aspect-ratio rule applies, from the same
    ``rules.image_fields`` the server validates with (mask fields are not photos: left out)."""
    return {
        field.path.split("[")[0]: field.aspect_rule
        for field in image_fields(sample)
        if not field.is_mask
    }


def _combos(combos: frozenset[tuple[str, str]]) -> list[list[str]]:
    return [list(combo) for combo in sorted(combos)]


def _video_model(rules: VideoModelRules) -> dict[str, Any]:
    return {
        "tail": _combos(rules.tail),
        "motion_brush": _combos(rules.motion_brush),
        "camera_simple": _combos(rules.camera_simple),
    }


def _text(kind: TaskKind) -> dict[str, int]:
    limits = limits_for(PREFIX, kind)
    return {"prompt": limits.prompt, "negative_prompt": limits.negative_prompt}


def _path(kind: TaskKind) -> str:
    """The family a kind is created on, by Kling's own paths."""
    return family_for_kind(kind, Prefix.KLING).value


def client_limits(custom_models: list[str]) -> dict[str, Any]:
    """The document served at ``/openreel/v1/limits``. ``custom_models``: configured model
    names beyond Kling's (they follow their engine's rules)."""
    i2v_sample = Image2VideoRequest(image="x", image_tail="x")
    mi2v_sample = MultiImage2VideoRequest(image_list=[ImageItem(image="x")])
    mi2i_sample = MultiImage2ImageRequest(
        subject_image_list=[SubjectImageItem(subject_image="x")], scene_image="x", style_image="x"
    )
    modes = list(get_args(Mode))
    durations = list(get_args(get_args(Duration)[0]))
    return {
        "prefix": PREFIX.value,
        "image": {
            "max_bytes": MAX_IMAGE_BYTES,
            "min_side": MIN_SIDE,
            "max_aspect": MAX_ASPECT,
            "max_pixels": MAX_PIXELS,
            "formats": [name.lower() for name in FORMATS],
        },
        "request": {"max_body_bytes": MAX_BODY_BYTES, "max_images": max_images_per_request()},
        "custom_models": custom_models,
        "endpoints": {
            "image2video": {
                "path": _path(TaskKind.IMAGE2VIDEO),
                "default_model": DEFAULT_MODEL[TaskKind.IMAGE2VIDEO],
                "models": {name: _video_model(r) for name, r in IMAGE2VIDEO_MODELS.items()},
                "modes": modes,
                "durations": durations,
                "text": _text(TaskKind.IMAGE2VIDEO),
                "aspect_rule": _aspect_rules(i2v_sample),
                "cfg_scale": _bounds(Image2VideoRequest, "cfg_scale"),
                "dynamic_masks": _bounds(Image2VideoRequest, "dynamic_masks"),
                "trajectory_points": _bounds(DynamicMask, "trajectories"),
                "camera": {
                    "types": list(get_args(CameraType)),
                    "fields": {
                        name: _bounds(CameraConfig, name) for name in CameraConfig.model_fields
                    },
                },
            },
            "text2video": {
                "path": _path(TaskKind.TEXT2VIDEO),
                "default_model": DEFAULT_MODEL[TaskKind.TEXT2VIDEO],
                "models": {name: _video_model(r) for name, r in TEXT2VIDEO_MODELS.items()},
                "modes": modes,
                "durations": durations,
                "aspect_ratios": list(get_args(VideoAspectRatio)),
                "text": _text(TaskKind.TEXT2VIDEO),
                "cfg_scale": _bounds(Text2VideoRequest, "cfg_scale"),
                "camera": {
                    "types": list(get_args(CameraType)),
                    "fields": {
                        name: _bounds(CameraConfig, name) for name in CameraConfig.model_fields
                    },
                },
            },
            "image_generation": {
                "path": _path(TaskKind.IMAGE_GENERATION),
                "default_model": DEFAULT_MODEL[TaskKind.IMAGE_GENERATION],
                "models": sorted(kling_models_for(TaskKind.IMAGE_GENERATION)),
                "aspect_ratios": list(get_args(ImageAspectRatio)),
                "resolutions": list(get_args(Resolution)),
                "n": _bounds(ImageGenerationRequest, "n"),
                "text": _text(TaskKind.IMAGE_GENERATION),
                "image_reference": ["subject", "face"],
                "image_fidelity": _bounds(ImageGenerationRequest, "image_fidelity"),
                "human_fidelity": _bounds(ImageGenerationRequest, "human_fidelity"),
            },
            "multi_image2video": {
                "path": _path(TaskKind.MULTI_IMAGE2VIDEO),
                "default_model": DEFAULT_MODEL[TaskKind.MULTI_IMAGE2VIDEO],
                "models": sorted(kling_models_for(TaskKind.MULTI_IMAGE2VIDEO)),
                "modes": modes,
                "durations": durations,
                "aspect_ratios": list(get_args(VideoAspectRatio)),
                "text": _text(TaskKind.MULTI_IMAGE2VIDEO),
                "aspect_rule": _aspect_rules(mi2v_sample),
                "images": {
                    **_bounds(MultiImage2VideoRequest, "image_list"),
                    "min": limits_for(PREFIX, TaskKind.MULTI_IMAGE2VIDEO).min_images,
                },
            },
            "multi_image2image": {
                "path": _path(TaskKind.MULTI_IMAGE2IMAGE),
                "default_model": DEFAULT_MODEL[TaskKind.MULTI_IMAGE2IMAGE],
                "models": sorted(kling_models_for(TaskKind.MULTI_IMAGE2IMAGE)),
                "aspect_ratios": list(get_args(ImageAspectRatio)),
                "resolutions": list(get_args(Resolution)),
                "n": _bounds(MultiImage2ImageRequest, "n"),
                "text": _text(TaskKind.MULTI_IMAGE2IMAGE),
                "aspect_rule": _aspect_rules(mi2i_sample),
                "images": {
                    **_bounds(MultiImage2ImageRequest, "subject_image_list"),
                    "min": limits_for(PREFIX, TaskKind.MULTI_IMAGE2IMAGE).min_images,
                },
            },
        },
    }
