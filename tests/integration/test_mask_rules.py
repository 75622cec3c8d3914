"""Rules between images: masks share the image's aspect ratio and each other's resolution,
trajectory points lie inside the image. Checked at create for base64 images."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from openreel.engines.base import Capabilities, Feature, TaskKind
from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.helpers import b64, encode, image_b64, textured

PATH = "/v1/videos/image2video"
IMAGE = image_b64(640, 400)


def mask(width: int, height: int) -> str:
    return b64(encode(textured(width, height, seed=3)))


@pytest.fixture
def brush_api(api_factory: Callable[..., Api]) -> tuple[Api, dict[str, str]]:
    engine = GatedEngine(
        name="brush",
        capabilities=Capabilities(
            kinds=frozenset({TaskKind.IMAGE2VIDEO}),
            features=frozenset({Feature.STATIC_MASK, Feature.DYNAMIC_MASKS}),
        ),
    )
    api = api_factory(engines={"brush": engine}, routes={"brush-model": "brush"}, workers=0)
    return api, api.auth(api.new_key())


def post(brush_api: tuple[Api, dict[str, str]], **fields: Any) -> Any:
    api, headers = brush_api
    body = {"image": IMAGE, "model_name": "brush-model", **fields}
    return api.client.post(PATH, json=body, headers=headers)


def group(mask_b64: str, points: list[tuple[int, int]]) -> dict[str, Any]:
    return {"mask": mask_b64, "trajectories": [{"x": x, "y": y} for x, y in points]}


def test_matching_masks_are_accepted(brush_api: tuple[Api, dict[str, str]]) -> None:
    response = post(
        brush_api,
        static_mask=mask(320, 200),
        dynamic_masks=[group(mask(320, 200), [(0, 0), (639, 399)])],
    )
    assert response.status_code == 200, response.text


def test_mask_with_another_aspect_ratio_is_refused(brush_api: tuple[Api, dict[str, str]]) -> None:
    response = post(brush_api, static_mask=mask(400, 400))
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "static_mask: mask is 400x400 but image is 640x400"
    )


def test_masks_of_different_resolutions_are_refused(brush_api: tuple[Api, dict[str, str]]) -> None:
    response = post(
        brush_api,
        static_mask=mask(640, 400),
        dynamic_masks=[group(mask(320, 200), [(1, 1), (5, 5)])],
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("dynamic_masks[0].mask: mask is 320x200")


@pytest.mark.parametrize("point", [(640, 10), (10, 400), (-1, 10)])
def test_trajectory_points_must_be_inside_the_image(
    brush_api: tuple[Api, dict[str, str]], point: tuple[int, int]
) -> None:
    response = post(brush_api, dynamic_masks=[group(mask(640, 400), [(10, 10), point])])
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("dynamic_masks[0].trajectories[1]: point")
    assert "outside the 640x400 image" in message


def rotated_jpeg(width: int, height: int) -> str:
    """A ``width``x``height`` JPEG whose EXIF orientation (6) shows it turned upright, i.e.
    ``height``x``width``, the way phones store portrait photos."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(textured(width, height, seed=5)).save(buffer, "JPEG", exif=exif.tobytes())
    return b64(buffer.getvalue())


def test_masks_and_trajectories_follow_the_upright_picture(
    brush_api: tuple[Api, dict[str, str]],
) -> None:
    photo = rotated_jpeg(640, 400)  # shown as 400x640
    path = [{"x": 10, "y": 600}, {"x": 390, "y": 620}]  # inside 400x640, not inside 640x400
    upright = post(
        brush_api,
        image=photo,
        static_mask=mask(400, 640),
        dynamic_masks=[{"mask": mask(400, 640), "trajectories": path}],
    )
    assert upright.status_code == 200, upright.text
    sideways = post(brush_api, image=photo, static_mask=mask(640, 400))
    assert sideways.status_code == 400
    assert sideways.json()["message"] == (
        "static_mask: mask is 640x400 but image is 400x640; "
        "a mask must have the same aspect ratio as image"
    )
