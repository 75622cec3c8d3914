"""The playground's HTTP side: the page and its assets are public and complete, the limits
document states the rules the server enforces, and the API keeps its auth."""

from __future__ import annotations

import re
from collections.abc import Callable

from openreel.media.images import MAX_ASPECT, MAX_IMAGE_BYTES, MAX_PIXELS, MIN_SIDE
from tests.support.api import Api
from tests.support.helpers import b64, encode, image_b64, textured


def test_page_and_assets_are_served_without_a_key(shared_api: Api) -> None:
    page = shared_api.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<title>openreel playground</title>" in page.text
    assets = re.findall(r'(?:href|src)="(playground/[^"]+)"', page.text)
    assert {"playground/style.css", "playground/js/app.js"} <= set(assets)
    # Every asset the page names, and every module the scripts import, is served.
    pending, seen = list(assets), set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = shared_api.client.get("/" + path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-cache", path  # scripts match the page
        if path.endswith(".js"):
            assert "javascript" in response.headers["content-type"]
            base = path.rsplit("/", 1)[0]
            pending += [
                f"{base}/{name}" for name in re.findall(r'from "\./([\w.]+)"', response.text)
            ]
    assert len([p for p in seen if p.endswith(".js")]) == 9


def test_limits_are_the_rules_the_server_enforces(
    shared_api: Api, shared_headers: dict[str, str]
) -> None:
    limits = shared_api.client.get("/openreel/v1/limits").json()  # no key needed
    assert limits["prefix"] == "/v1"
    assert limits["image"] == {
        "max_bytes": MAX_IMAGE_BYTES,
        "min_side": MIN_SIDE,
        "max_aspect": MAX_ASPECT,
        "max_pixels": MAX_PIXELS,
        "formats": ["jpeg", "png"],
    }
    i2v = limits["endpoints"]["image2video"]
    assert i2v["path"] == "videos/image2video" and i2v["default_model"] == "kling-v1"
    assert i2v["dynamic_masks"] == {"max": 6}
    assert i2v["trajectory_points"] == {"min": 2, "max": 77}
    assert i2v["camera"]["fields"]["zoom"] == {"min": -10, "max": 10}
    assert i2v["models"]["kling-v1"]["motion_brush"] == [["pro", "5"], ["std", "5"]]
    assert i2v["models"]["kling-v1-5"]["camera_simple"] == [["pro", "5"]]
    assert i2v["aspect_rule"] == {"image": True, "image_tail": True}
    assert i2v["text"] == {"prompt": 2500, "negative_prompt": 2500}
    mi2v = limits["endpoints"]["multi_image2video"]
    assert mi2v["images"] == {"min": 1, "max": 4}
    assert mi2v["aspect_rule"] == {"image_list": True}
    mi2i = limits["endpoints"]["multi_image2image"]
    assert mi2i["path"] == "images/multi-image2image"
    assert mi2i["n"] == {"min": 1, "max": 9}
    assert mi2i["aspect_rule"] == {
        "subject_image_list": False,
        "scene_image": False,
        "style_image": False,
    }

    # The numbers are the server's own: right at the limits passes, one past them fails.
    path = i2v["path"]

    def create(points: int, side: int) -> tuple[int, str]:
        mask = b64(encode(textured(side, side)))
        body = {
            "image": image_b64(side, side),
            "dynamic_masks": [{"mask": mask, "trajectories": [{"x": 1, "y": 1}] * points}],
        }
        response = shared_api.client.post(f"/v1/{path}", json=body, headers=shared_headers)
        return response.status_code, response.json()["message"]

    side = limits["image"]["min_side"]
    most = i2v["trajectory_points"]["max"]
    assert create(most, side)[0] == 200
    status, message = create(most + 1, side)
    assert status == 400 and message.startswith("dynamic_masks[0].trajectories")
    status, message = create(i2v["trajectory_points"]["min"], side - 1)
    assert status == 400 and message.startswith(f"image: image is {side - 1}x{side - 1}")


def test_limits_list_configured_custom_models(api_factory: Callable[..., Api]) -> None:
    api = api_factory(routes={"*": "classic", "house-model": "classic"})
    limits = api.client.get("/openreel/v1/limits").json()
    assert limits["custom_models"] == ["house-model"]


def test_the_page_does_not_open_the_api(shared_api: Api) -> None:
    response = shared_api.client.post("/v1/videos/image2video", json={"image": image_b64()})
    assert response.status_code == 401 and response.json()["code"] == 1001
    paths = shared_api.client.get("/openapi.json").json()["paths"]
    assert "/openreel/v1/limits" in paths and "/" not in paths
