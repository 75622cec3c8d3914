"""Request bodies of the create endpoints, built from SDK arguments.

Images are turned into wire values (``inputs.image_value``: URLs as is, local images checked
and base64-encoded); then the body is checked with the server's own request models
(``wire.parsing.parse_request``), so structural mistakes fail before any request with the
message the server would send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from openreel.sdk.errors import LocalValidationError
from openreel.sdk.inputs import ImageInput, image_value
from openreel.sdk.models import Endpoint
from openreel.wire.errors import KlingError
from openreel.wire.families import Family
from openreel.wire.parsing import parse_request

__all__ = [
    "CommonParams",
    "Image2VideoParams",
    "ImagesParams",
    "MultiImage2ImageParams",
    "MultiImage2VideoParams",
    "Text2VideoParams",
    "image2video_body",
    "images_body",
    "multi_image2image_body",
    "multi_image2video_body",
    "text2video_body",
]

Point = Mapping[str, int] | Sequence[int]


class TaskParams(TypedDict, total=False):
    """What every create takes besides ``prompt`` (a positional argument of the text-led
    methods, ``text2video`` and ``images``)."""

    model_name: str
    negative_prompt: str
    callback_url: str
    external_task_id: str  # one is generated when omitted, so a retried create is safe
    extra: dict[str, Any]  # more body fields, sent as given


class CommonParams(TaskParams, total=False):
    prompt: str


class DynamicMaskParam(TypedDict):
    mask: ImageInput
    trajectories: Sequence[Point]  # (x, y) pixels of `image`, origin at its bottom-left


class Image2VideoParams(CommonParams, total=False):
    image_tail: ImageInput
    static_mask: ImageInput
    dynamic_masks: Sequence[DynamicMaskParam]
    camera_control: Mapping[str, Any]  # {"type": "simple", "config": {"zoom": 5}} or a preset
    mode: str  # "std" | "pro"
    duration: str | int  # 5 | 10
    cfg_scale: float


class Text2VideoParams(TaskParams, total=False):
    camera_control: Mapping[str, Any]
    mode: str
    duration: str | int
    cfg_scale: float
    aspect_ratio: str  # 16:9 | 9:16 | 1:1


class ImagesParams(TaskParams, total=False):
    image: ImageInput  # one reference image: image-to-image
    image_reference: str  # subject | face (which part of `image` to keep)
    image_fidelity: float  # 0..1, how closely to follow `image`
    human_fidelity: float  # 0..1, with image_reference "subject"
    n: int
    aspect_ratio: str
    resolution: str


class MultiImage2VideoParams(CommonParams, total=False):
    mode: str
    duration: str | int
    aspect_ratio: str  # 16:9 | 9:16 | 1:1


class MultiImage2ImageParams(CommonParams, total=False):
    scene: ImageInput
    style: ImageInput
    n: int
    aspect_ratio: str
    resolution: str  # 1k | 2k


_FAMILY = {
    Endpoint.IMAGE2VIDEO: Family.IMAGE2VIDEO,
    Endpoint.TEXT2VIDEO: Family.TEXT2VIDEO,
    Endpoint.IMAGE_GENERATION: Family.IMAGE_GENERATIONS,
    Endpoint.MULTI_IMAGE2VIDEO: Family.MULTI_IMAGE2VIDEO,
    Endpoint.MULTI_IMAGE2IMAGE: Family.MULTI_IMAGE2IMAGE,
}
_PLAIN = ("model_name", "prompt", "negative_prompt", "callback_url", "external_task_id")


def _point(point: Point, where: str) -> dict[str, int]:
    if isinstance(point, Mapping):
        return {"x": int(point["x"]), "y": int(point["y"])}
    if len(point) != 2:
        raise LocalValidationError(f"{where}: a point is (x, y)")
    return {"x": int(point[0]), "y": int(point[1])}


def _finish(
    endpoint: Endpoint, params: Mapping[str, Any], body: dict[str, Any], *names: str
) -> dict[str, Any]:
    """Copy the plain fields (``names``, then the shared ones and ``extra``) and check the
    body with the server's own request model."""
    for name in (*names, *_PLAIN):
        value = params.get(name)
        if value is not None:
            body[name] = str(value) if name == "duration" else value  # Kling sends "5"
    body.update(params.get("extra") or {})
    try:
        parse_request(_FAMILY[endpoint], body)
    except KlingError as exc:
        raise LocalValidationError(exc.message) from None
    return body


def image2video_body(image: ImageInput | None, params: Image2VideoParams) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if image is not None:
        body["image"] = image_value(image, "image")
    if params.get("image_tail") is not None:
        body["image_tail"] = image_value(params["image_tail"], "image_tail")
    if params.get("static_mask") is not None:
        body["static_mask"] = image_value(params["static_mask"], "static_mask", is_mask=True)
    groups = params.get("dynamic_masks") or []
    if groups:
        body["dynamic_masks"] = [
            {
                "mask": image_value(g["mask"], f"dynamic_masks[{i}].mask", is_mask=True),
                "trajectories": [
                    _point(p, f"dynamic_masks[{i}].trajectories[{j}]")
                    for j, p in enumerate(g["trajectories"])
                ],
            }
            for i, g in enumerate(groups)
        ]
    return _finish(
        Endpoint.IMAGE2VIDEO, params, body, "camera_control", "mode", "duration", "cfg_scale"
    )


def multi_image2video_body(
    images: Sequence[ImageInput], params: MultiImage2VideoParams
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "image_list": [
            {"image": image_value(image, f"image_list[{i}].image")}
            for i, image in enumerate(images)
        ]
    }
    return _finish(Endpoint.MULTI_IMAGE2VIDEO, params, body, "mode", "duration", "aspect_ratio")


def multi_image2image_body(
    subjects: Sequence[ImageInput], params: MultiImage2ImageParams, *, comet_style: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_image_list": [
            {
                "subject_image": image_value(
                    s, f"subject_image_list[{i}].subject_image", aspect=False
                )
            }
            for i, s in enumerate(subjects)
        ]
    }
    if params.get("scene") is not None:
        # CometAPI documents the field as `scence_image`; Kling and openreel use scene_image.
        name = "scence_image" if comet_style else "scene_image"
        body[name] = image_value(params["scene"], "scene_image", aspect=False)
    if params.get("style") is not None:
        body["style_image"] = image_value(params["style"], "style_image", aspect=False)
    return _finish(Endpoint.MULTI_IMAGE2IMAGE, params, body, "n", "aspect_ratio", "resolution")


def text2video_body(prompt: str | None, params: Text2VideoParams) -> dict[str, Any]:
    body: dict[str, Any] = {} if prompt is None else {"prompt": prompt}
    return _finish(
        Endpoint.TEXT2VIDEO, params, body,
        "camera_control", "mode", "duration", "cfg_scale", "aspect_ratio",
    )  # fmt: skip


def images_body(prompt: str | None, params: ImagesParams) -> dict[str, Any]:
    """Text-to-image, or image-to-image from one reference (``image``); never subjects
    (that is ``multi_image2image_body``)."""
    body: dict[str, Any] = {} if prompt is None else {"prompt": prompt}
    if params.get("image") is not None:
        body["image"] = image_value(params["image"], "image")
    if "subject_image_list" in (params.get("extra") or {}):
        raise LocalValidationError(
            "subject_image_list: subjects are composed by multi_image2image, not images"
        )
    return _finish(
        Endpoint.IMAGE_GENERATION, params, body,
        "image_reference", "image_fidelity", "human_fidelity", "n", "aspect_ratio", "resolution",
    )  # fmt: skip
