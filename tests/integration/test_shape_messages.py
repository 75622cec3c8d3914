"""Validation messages describe nested fields by the JSON they expect, never by the server's
class names (``instance of TrajectoryPoint``), on both prefixes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from openreel.wire.parsing import error_from_pydantic
from openreel.wire.shapes import shape_of
from tests.support.api import Api
from tests.support.helpers import image_b64

IMG = image_b64()
POINT = '{"x": int, "y": int}'
CONFIG = (
    '{"horizontal": number, "vertical": number, "pan": number, "tilt": number, '
    '"roll": number, "zoom": number}'
)
CAMERA = (
    '{"type": "simple" | "down_back" | "forward_up" | "right_turn_forward" | '
    f'"left_turn_forward", "config": {CONFIG}}}'
)
# Classes of openreel.wire.requests that must never reach a client.
CLASS_NAME = re.compile(r"TrajectoryPoint|CameraConfig|CameraControl|DynamicMask|Item\b|Request\b")


def trajectory(*points: object) -> dict[str, Any]:
    return {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": list(points)}]}


# (family path, body, the message in full)
CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "videos/image2video",
        trajectory(5, {"x": 1, "y": 2}),
        f"dynamic_masks[0].trajectories[0]: expected an object {POINT}, got a number",
    ),
    (
        "videos/image2video",
        trajectory({"x": 1, "y": 2}, "10,20"),
        f"dynamic_masks[0].trajectories[1]: expected an object {POINT}, got a string",
    ),
    (
        "videos/image2video",
        trajectory({"x": 1, "y": 2, "z": 3}, {"x": 4, "y": 5}),
        f"dynamic_masks[0].trajectories[0].z: unknown field; expected an object {POINT}",
    ),
    (
        "videos/image2video",
        {"image": IMG, "dynamic_masks": ["mask.png"]},
        f'dynamic_masks[0]: expected an object {{"mask": string, "trajectories": [{POINT}, ...]}}'
        ", got a string",
    ),
    (
        "videos/image2video",
        {"image": IMG, "camera_control": {"type": "simple", "config": "zoom"}},
        f"camera_control.config: expected an object {CONFIG}, got a string",
    ),
    (
        "videos/image2video",
        {"image": IMG, "camera_control": {"type": "simple", "config": {"spin": 3}}},
        f"camera_control.config.spin: unknown field; expected an object {CONFIG}",
    ),
    (
        "videos/text2video",
        {"prompt": "a lighthouse", "camera_control": ["zoom", 5]},
        f"camera_control: expected an object {CAMERA}, got a list",
    ),
    (
        "images/generations",
        {"subject_image_list": ["cat.png"]},
        'subject_image_list[0]: expected an object {"subject_image": string}, got a string',
    ),
    (
        "images/generations",
        {"subject_image_list": [None]},
        'subject_image_list[0]: expected an object {"subject_image": string}, got null',
    ),
    (
        "videos/multi-image2video",
        {"image_list": [IMG]},
        'image_list[0]: expected an object {"image": string}, got a string',
    ),
    (
        "images/generations",
        {"prompt": "a fox", "watermark_info": True},
        'watermark_info: expected an object {"enabled": bool}, got a boolean',
    ),
]


@pytest.mark.parametrize("prefix", ["/v1", "/kling/v1"])
@pytest.mark.parametrize(("family", "body", "message"), CASES)
def test_nested_fields_are_described_by_their_json_shape(
    api: Api, headers: dict[str, str], prefix: str, family: str, body: dict[str, Any], message: str
) -> None:
    response = api.client.post(f"{prefix}/{family}", json=body, headers=headers)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == 1201
    assert answer["message"] == message
    assert not CLASS_NAME.search(answer["message"])


def test_errors_without_the_request_model_still_name_no_class() -> None:
    # FastAPI's own validation errors arrive without the model: the class is found by name.
    error = error_from_pydantic(
        [
            {
                "type": "model_type",
                "loc": ("body", "camera_control", "config"),
                "msg": "Input should be a valid dictionary or instance of CameraConfig",
                "input": 3,
                "ctx": {"class_name": "CameraConfig"},
            }
        ]
    )
    assert error.message == f"camera_control.config: expected an object {CONFIG}, got a number"
    leftover = error_from_pydantic(
        [{"type": "other", "loc": ("x",), "msg": "Input should be an instance of TrajectoryPoint"}]
    )
    assert leftover.message == f"x: Input should be an object {POINT}"


def test_shape_of_lists_optional_and_literal_fields() -> None:
    from openreel.wire.requests import CameraControl, DynamicMask

    assert shape_of(CameraControl) == CAMERA
    assert shape_of(DynamicMask) == f'{{"mask": string, "trajectories": [{POINT}, ...]}}'
