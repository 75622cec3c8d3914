"""From a parsed request to a ``TaskPlan``: prefix limits, Kling per-model rules, engine
capabilities, the image fields to fetch, and the output geometry.

Order of checks: structure (pydantic, before this module) -> prefix limits -> model name ->
the model's capability map -> the routed engine's capabilities. Every failure is a 1201 (or
1203 for an unknown model) whose message starts with the field it is about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from openreel.engines.base import Feature, ImageSpec, VideoSpec
from openreel.tasks.inputs import ImageField
from openreel.tasks.kling_models import (
    DEFAULT_MODEL,
    IMAGE2VIDEO_MODELS,
    VideoModelRules,
    kling_models_for,
    video_rules_for,
)
from openreel.tasks.routing import EngineRouter
from openreel.wire.errors import illegal
from openreel.wire.families import Family, Prefix, TaskKind, kind_of
from openreel.wire.requests import (
    CreateRequest,
    Image2VideoRequest,
    ImageGenerationRequest,
    MultiImage2ImageRequest,
    MultiImage2VideoRequest,
    Text2VideoRequest,
)


@dataclass
class TaskPlan:
    family: Family
    kind: TaskKind
    model_name: str
    engine: str
    params: dict[str, Any]
    image_fields: list[ImageField] = field(default_factory=list)
    video: VideoSpec | None = None
    image: ImageSpec | None = None
    external_task_id: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class PrefixLimits:
    prompt: int
    negative_prompt: int
    min_images: int


# CometAPI documents 500/200 and 2..4 images; Kling documents 2500/2500 and 1..4.
# CometAPI's multi-image-to-image page keeps Kling's 2500 for the prompt (see docs/compat.md).
_COMET = PrefixLimits(prompt=500, negative_prompt=200, min_images=2)
_COMET_MI2I = PrefixLimits(prompt=2500, negative_prompt=2500, min_images=2)
_KLING = PrefixLimits(prompt=2500, negative_prompt=2500, min_images=1)


def limits_for(prefix: Prefix, kind: TaskKind) -> PrefixLimits:
    if prefix == Prefix.KLING:
        return _KLING
    return _COMET_MI2I if kind == TaskKind.MULTI_IMAGE2IMAGE else _COMET


def _check_text(request: CreateRequest, limits: PrefixLimits, prefix: Prefix) -> None:
    for name, limit in (("prompt", limits.prompt), ("negative_prompt", limits.negative_prompt)):
        value = getattr(request, name, None)
        if value is not None and len(value) > limit:
            raise illegal(
                name, f"must be at most {limit} characters on {prefix.value} (got {len(value)})"
            )


def image_size(aspect_ratio: str, resolution: str) -> tuple[int, int]:
    """Exact-ratio canvas of about 1 (1k) or 4 (2k) megapixels."""
    a, b = (int(part) for part in aspect_ratio.split(":"))
    area = (1024 if resolution == "1k" else 2048) ** 2
    k = max(1, round(math.sqrt(area / (a * b))))
    return a * k, b * k


def _allowed(combos: frozenset[tuple[str, str]]) -> str:
    return ", ".join(f"{mode} {duration} s" for mode, duration in sorted(combos)) or "none"


def _check_video_model(
    request: Image2VideoRequest | Text2VideoRequest, model: str, rules: VideoModelRules
) -> None:
    combo = (request.mode, request.duration)
    used = [("camera_control", request.camera_control is not None, rules.camera_simple)]
    if isinstance(request, Image2VideoRequest):
        used = [
            ("image_tail", bool(request.image_tail), rules.tail),
            ("static_mask", bool(request.static_mask), rules.motion_brush),
            ("dynamic_masks", bool(request.dynamic_masks), rules.motion_brush),
            *used,
        ]
    for name, present, combos in used:
        if present and combo not in combos:
            raise illegal(
                name,
                f"not supported by {model} with mode {request.mode} and duration "
                f"{request.duration} s (supported: {_allowed(combos)})",
            )
    if request.camera_control is not None and request.camera_control.type != "simple":
        # On image2video Kling's models take type simple only; text2video takes every type.
        if isinstance(request, Image2VideoRequest) and model in IMAGE2VIDEO_MODELS:
            raise illegal("camera_control.type", f"{model} supports only type simple")
    if request.sound == "on" and not (rules.sound_pro_only and request.mode == "pro"):
        raise illegal("sound", f"sound on is not supported by {model} with mode {request.mode}")


# Kling's image page: image_fidelity on kling-v1/v1-5 only; subject/face references on
# kling-v1-5 (where a reference image needs one) and kling-v2-1 (2026-05 map).
_FIDELITY_MODELS = frozenset({"kling-v1", "kling-v1-5"})
_REFERENCE_MODELS = frozenset({"kling-v1-5", "kling-v2-1"})


def _check_image_model(request: ImageGenerationRequest, model: str) -> None:
    if request.image_fidelity is not None and model not in _FIDELITY_MODELS:
        raise illegal("image_fidelity", f"not supported by {model} (only kling-v1, kling-v1-5)")
    if request.image_reference is not None and model not in _REFERENCE_MODELS:
        raise illegal("image_reference", f"not supported by {model} (only kling-v1-5, kling-v2-1)")
    if model == "kling-v1-5" and request.image and request.image_reference is None:
        raise illegal("image_reference", "is required by kling-v1-5 when image is set")


def features_used(request: CreateRequest) -> list[Feature]:
    used: list[Feature] = []
    if request.watermark_info is not None and request.watermark_info.enabled:
        used.append(Feature.WATERMARK)
    if isinstance(request, Image2VideoRequest):
        if request.image_tail:
            used.append(Feature.IMAGE_TAIL if request.image else Feature.TAIL_ONLY)
        if request.static_mask:
            used.append(Feature.STATIC_MASK)
        if request.dynamic_masks:
            used.append(Feature.DYNAMIC_MASKS)
        if request.camera_control is not None:
            used.append(Feature.CAMERA_CONTROL)
        if request.sound == "on":
            used.append(Feature.SOUND)
    if isinstance(request, Text2VideoRequest):
        if request.camera_control is not None:
            used.append(Feature.CAMERA_CONTROL)
        if request.sound == "on":
            used.append(Feature.SOUND)
    if isinstance(request, ImageGenerationRequest) and request.image:
        used.append(Feature.IMAGE_REFERENCE)
    if isinstance(request, MultiImage2ImageRequest):
        if request.scene_image:
            used.append(Feature.SCENE_IMAGE)
        if request.style_image:
            used.append(Feature.STYLE_IMAGE)
    return used


def image_fields(request: CreateRequest) -> list[ImageField]:
    if isinstance(request, Image2VideoRequest):
        fields = [
            ImageField(name, value)
            for name, value in (("image", request.image), ("image_tail", request.image_tail))
            if value
        ]
        if request.static_mask:
            fields.append(ImageField("static_mask", request.static_mask, False, True))
        for i, group in enumerate(request.dynamic_masks or []):
            fields.append(ImageField(f"dynamic_masks[{i}].mask", group.mask, False, True))
        return fields
    if isinstance(request, MultiImage2VideoRequest):
        return [
            ImageField(f"image_list[{i}].image", item.image)
            for i, item in enumerate(request.image_list)
        ]
    if isinstance(request, MultiImage2ImageRequest):
        fields = [
            ImageField(f"subject_image_list[{i}].subject_image", item.subject_image, False)
            for i, item in enumerate(request.subject_image_list)
        ]
        for name in ("scene_image", "style_image"):
            value = getattr(request, name)
            if value:
                fields.append(ImageField(name, value, False))
        return fields
    if isinstance(request, ImageGenerationRequest) and request.image:
        # A reference picture: Kling's size and aspect rules, as for image2video.
        return [ImageField("image", request.image)]
    return []


def plan_task(
    request: CreateRequest, family: Family, prefix: Prefix, router: EngineRouter
) -> TaskPlan:
    kind = kind_of(request)
    limits = limits_for(prefix, kind)
    _check_text(request, limits, prefix)

    if isinstance(request, MultiImage2VideoRequest):
        if len(request.image_list) < limits.min_images:
            raise illegal(
                "image_list", f"must hold {limits.min_images} to 4 images on {prefix.value}"
            )
        if not request.prompt:
            raise illegal("prompt", "is required for multi-image2video")
    if isinstance(request, MultiImage2ImageRequest) and (
        len(request.subject_image_list) < limits.min_images
    ):
        raise illegal(
            "subject_image_list", f"must hold {limits.min_images} to 4 images on {prefix.value}"
        )
    if isinstance(request, ImageGenerationRequest):
        if not request.prompt:
            raise illegal("prompt", "is required")
        if request.image and request.negative_prompt:
            raise illegal("negative_prompt", "is not allowed when image is set")
        if request.image_reference is not None and not request.image:
            raise illegal("image", "is required when image_reference is set")
        if request.human_fidelity is not None and request.image_reference != "subject":
            raise illegal("human_fidelity", "is only allowed with image_reference subject")
    if isinstance(request, Text2VideoRequest) and not request.prompt:
        raise illegal("prompt", "is required for text2video")

    model = request.model_name or DEFAULT_MODEL[kind]
    route = router.route(model)
    if route.kling_rules and model not in kling_models_for(kind):
        raise illegal(
            "model_name",
            f"{model} is not available on {family.value}; use one of "
            f"{', '.join(sorted(kling_models_for(kind)))}",
        )
    engine = route.engine
    caps = engine.capabilities_for(model)
    if kind not in caps.kinds:
        what = kind.value.replace("_", " ")
        if request.model_name:
            raise illegal(
                "model_name",
                f"{what} is not supported by the '{engine.name}' engine serving {model}",
            )
        # No model was asked for: blame the server's routing of the default, not a field the
        # client never sent.
        raise illegal(
            family.value,
            f"{what} is not supported by the '{engine.name}' engine this server routes the "
            f"default model {model} to; send a model_name that an engine serving it is routed "
            "for (OPENREEL_ROUTES)",
        )

    video_rules: VideoModelRules | None = None
    if isinstance(request, Image2VideoRequest | Text2VideoRequest | MultiImage2VideoRequest):
        video_rules = video_rules_for(kind, model)
        if not isinstance(request, MultiImage2VideoRequest) and route.kling_rules:
            _check_video_model(request, model, video_rules)
    if isinstance(request, ImageGenerationRequest) and route.kling_rules:
        _check_image_model(request, model)

    used = features_used(request)
    for feature in used:
        if feature not in caps.features:
            raise illegal(
                feature.value,
                f"not supported yet by the '{engine.name}' engine serving {model}",
            )
    missing = caps.required - set(used)
    if missing:
        feature = min(missing)
        raise illegal(feature.value, f"is required by the '{engine.name}' engine serving {model}")
    mode = getattr(request, "mode", None)
    if mode is not None and mode not in caps.modes:
        raise illegal("mode", f"'{mode}' is not supported by the '{engine.name}' engine")
    duration = getattr(request, "duration", None)
    if duration is not None and duration not in caps.durations:
        raise illegal("duration", f"'{duration}' is not supported by the '{engine.name}' engine")

    params = request.model_dump(mode="json", exclude_none=True)
    params.pop("model", None)
    params["model_name"] = model
    plan = TaskPlan(
        family=family,
        kind=kind,
        model_name=model,
        engine=engine.name,
        params=params,
        image_fields=image_fields(request),
        external_task_id=request.external_task_id,
        callback_url=request.callback_url,
    )
    if video_rules is not None and duration is not None and mode is not None:
        plan.video = VideoSpec(
            short_side=video_rules.short_side[mode], fps=video_rules.fps, seconds=int(duration)
        )
    if isinstance(request, MultiImage2ImageRequest | ImageGenerationRequest):
        width, height = image_size(request.aspect_ratio, request.resolution)
        plan.image = ImageSpec(width=width, height=height, count=request.n)
    return plan
