"""The validation battery's case table, shared by the domain's unit tests
(tests/unit/test_validation_rules.py: every case through ``TaskService.create``) and the HTTP
tests that prove the mapping of a refusal to its status and envelope
(tests/integration/test_validation.py)."""

from __future__ import annotations

from typing import Any

from openreel.wire.families import Family, Prefix
from tests.support.helpers import b64, encode, image_b64, textured

IMG = image_b64()


def i2v(**extra: Any) -> dict[str, Any]:
    return {"image": IMG, **extra}


def mi2v(count: int = 2, **extra: Any) -> dict[str, Any]:
    return {"image_list": [{"image": IMG}] * count, "prompt": "go", **extra}


def mi2i(count: int = 2, **extra: Any) -> dict[str, Any]:
    return {"subject_image_list": [{"subject_image": IMG}] * count, **extra}


def t2v(**extra: Any) -> dict[str, Any]:
    return {"prompt": "a fox in the snow", **extra}


def t2i(**extra: Any) -> dict[str, Any]:
    return {"prompt": "a cat on a sofa", **extra}


MASK = b64(encode(textured(640, 400)))
TRAJ = [{"x": 10, "y": 10}, {"x": 50, "y": 60}]
CAMERA = {"type": "simple", "config": {"zoom": 5}}

# (path, body, expected code, text the message must contain)
CASES: list[tuple[str, dict[str, Any], int, str]] = [
    # images: format, prefix, size, sides, aspect
    (
        "/v1/videos/image2video",
        i2v(image="data:image/png;base64," + IMG),
        1201,
        "image: invalid base64",
    ),
    ("/v1/videos/image2video", i2v(image="!!notbase64!!"), 1201, "image: must be an http(s) URL"),
    (
        "/v1/videos/image2video",
        i2v(image=b64(b"GIF89a" + b"\0" * 100)),
        1201,
        "image: image format must be JPEG or PNG",
    ),
    (
        "/v1/videos/image2video",
        i2v(image=b64(encode(textured(200, 200)))),
        1201,
        "each side must be at least 300",
    ),
    (
        "/v1/videos/image2video",
        i2v(image=b64(encode(textured(1000, 300)))),
        1201,
        "image: image aspect ratio",
    ),
    (
        "/v1/videos/image2video",
        i2v(image=b64(encode(textured(640, 400))[:200])),
        1201,
        "image: image could not be decoded",
    ),
    (
        "/v1/videos/image2video",
        i2v(image="A" * (14 * 1024 * 1024)),
        1201,
        "image: image is larger than 10 MB",
    ),
    ("/v1/videos/image2video", i2v(image_tail=b64(encode(textured(640, 200)))), 1201, "image_tail"),
    (
        "/v1/videos/image2video",
        {"prompt": "no image"},
        1201,
        "image: at least one of image and image_tail",
    ),
    (
        "/v1/videos/image2video",
        i2v(image="ftp://example.com/a.png"),
        1201,
        "image: must be an http(s) URL",
    ),
    # lists
    ("/kling/v1/videos/multi-image2video", mi2v(1), 1201, "image_list: must hold 2 to 4"),
    ("/kling/v1/videos/multi-image2video", mi2v(5), 1201, "image_list"),
    ("/v1/videos/multi-image2video", mi2v(5), 1201, "image_list"),
    ("/kling/v1/images/generations", mi2i(1), 1201, "subject_image_list: must hold 2 to 4"),
    ("/v1/images/multi-image2image", mi2i(5), 1201, "subject_image_list"),
    (
        "/v1/videos/multi-image2video",
        mi2v(2, image_list=[{"image": b64(encode(textured(1000, 300)))}] * 2),
        1201,
        "image_list[0].image: image aspect ratio",
    ),
    (
        "/v1/videos/multi-image2video",
        {"image_list": [{"image": IMG}] * 2},
        1201,
        "prompt: is required",
    ),
    # prompt lengths per prefix
    ("/kling/v1/videos/image2video", i2v(prompt="x" * 501), 1201, "prompt: must be at most 500"),
    (
        "/kling/v1/videos/image2video",
        i2v(negative_prompt="x" * 201),
        1201,
        "negative_prompt: must be at most 200",
    ),
    ("/v1/videos/image2video", i2v(prompt="x" * 2501), 1201, "prompt: must be at most 2500"),
    (
        "/v1/videos/image2video",
        i2v(negative_prompt="x" * 2501),
        1201,
        "negative_prompt: must be at most 2500",
    ),
    (
        "/kling/v1/videos/multi-image2video",
        mi2v(prompt="x" * 501),
        1201,
        "prompt: must be at most 500",
    ),
    ("/kling/v1/images/generations", mi2i(prompt="x" * 2501), 1201, "prompt: must be at most 2500"),
    # enums and ranges
    ("/v1/videos/image2video", i2v(duration="7"), 1201, "duration"),
    ("/v1/videos/image2video", i2v(mode="ultra"), 1201, "mode"),
    ("/v1/videos/image2video", i2v(cfg_scale=1.5), 1201, "cfg_scale"),
    ("/v1/videos/image2video", i2v(cfg_scale=-0.1), 1201, "cfg_scale"),
    ("/v1/videos/multi-image2video", mi2v(aspect_ratio="4:3"), 1201, "aspect_ratio"),
    ("/v1/images/multi-image2image", mi2i(aspect_ratio="5:4"), 1201, "aspect_ratio"),
    ("/v1/images/multi-image2image", mi2i(n=0), 1201, "n: "),
    ("/v1/images/multi-image2image", mi2i(n=10), 1201, "n: "),
    ("/v1/images/multi-image2image", mi2i(resolution="4k"), 1201, "resolution"),
    # masks
    (
        "/v1/videos/image2video",
        i2v(dynamic_masks=[{"mask": MASK, "trajectories": TRAJ}] * 7),
        1201,
        "dynamic_masks",
    ),
    (
        "/v1/videos/image2video",
        i2v(dynamic_masks=[{"mask": MASK, "trajectories": TRAJ[:1]}]),
        1201,
        "dynamic_masks[0].trajectories",
    ),
    (
        "/v1/videos/image2video",
        i2v(dynamic_masks=[{"mask": MASK, "trajectories": TRAJ * 39}]),
        1201,
        "dynamic_masks[0].trajectories",
    ),
    (
        "/v1/videos/image2video",
        i2v(dynamic_masks=[{"mask": MASK}]),
        1201,
        "dynamic_masks[0].trajectories: is required",
    ),
    # mutual exclusion
    ("/v1/videos/image2video", i2v(image_tail=IMG, static_mask=MASK), 1201, "cannot be combined"),
    (
        "/v1/videos/image2video",
        i2v(image_tail=IMG, camera_control=CAMERA),
        1201,
        "cannot be combined",
    ),
    (
        "/v1/videos/image2video",
        i2v(static_mask=MASK, camera_control=CAMERA),
        1201,
        "cannot be combined",
    ),
    # camera control structure
    (
        "/v1/videos/image2video",
        i2v(camera_control={"type": "simple", "config": {"zoom": 5, "pan": 1}}),
        1201,
        "exactly one",
    ),
    ("/v1/videos/image2video", i2v(camera_control={"type": "simple"}), 1201, "config is required"),
    (
        "/v1/videos/image2video",
        i2v(camera_control={"type": "simple", "config": {"zoom": 11}}),
        1201,
        "camera_control.config.zoom",
    ),
    ("/v1/videos/image2video", i2v(camera_control={"type": "orbit"}), 1201, "camera_control.type"),
    # model names and per-model rules (Kling's capability map)
    (
        "/v1/videos/image2video",
        i2v(model_name="kling-v9"),
        1203,
        "model_name: model 'kling-v9' does not exist",
    ),
    (
        "/v1/videos/multi-image2video",
        mi2v(model_name="kling-v2-master"),
        1201,
        "model_name: kling-v2-master is not available",
    ),
    (
        "/v1/videos/image2video",
        i2v(model_name="kling-v2-master", image_tail=IMG),
        1201,
        "image_tail: not supported by kling-v2-master",
    ),
    (
        "/v1/videos/image2video",
        i2v(model_name="kling-v1", image_tail=IMG, duration="10"),
        1201,
        "image_tail: not supported by kling-v1 with mode std and duration 10",
    ),
    (
        "/v1/videos/image2video",
        i2v(model_name="kling-v1-6", static_mask=MASK),
        1201,
        "static_mask: not supported by kling-v1-6",
    ),
    (
        "/v1/videos/image2video",
        i2v(model_name="kling-v1", camera_control=CAMERA),
        1201,
        "camera_control: not supported by kling-v1",
    ),
    ("/v1/videos/image2video", i2v(model_name="kling-v2-1", sound="on"), 1201, "sound"),
    # features and kinds an engine lacks (watermark, text2video, text-to-image): test_routing.py
    # other fields
    (
        "/v1/videos/image2video",
        i2v(callback_url="not a url"),
        1201,
        "callback_url: URL must use http or https",
    ),
    (
        "/v1/videos/image2video",
        i2v(callback_url="ftp://example.com/hook"),
        1201,
        "callback_url: URL must use http or https",
    ),
    # addresses refused without DNS at create time (loopback 127.0.0.1 is allowed in tests)
    (
        "/v1/videos/image2video",
        i2v(callback_url="http://10.1.2.3/hook"),
        1201,
        "callback_url: URL host is not allowed: 10.1.2.3 is a private address",
    ),
    (
        "/v1/videos/image2video",
        i2v(callback_url="http://169.254.169.254/latest/meta-data/"),
        1201,
        "callback_url: URL host is not allowed: 169.254.169.254 is a cloud metadata address",
    ),
    (
        "/kling/v1/videos/image2video",
        i2v(callback_url="http://[::1]:8080/hook"),
        1201,
        "callback_url: URL host is not allowed: ::1 is a loopback address",
    ),
    (
        "/v1/videos/image2video",
        i2v(callback_url="http://user:pw@example.com/hook"),
        1201,
        "callback_url: URL must not contain credentials",
    ),
    (
        "/v1/videos/image2video",
        i2v(image="http://192.168.1.20/cat.png"),
        1201,
        "image: URL host is not allowed: 192.168.1.20 is a private address",
    ),
    (
        "/v1/videos/multi-image2video",
        {"image_list": [{"image": IMG}, {"image": "http://0x0a000001/x.png"}], "prompt": "p"},
        1201,
        "image_list[1].image: URL host is not allowed: 0x0a000001 is 10.0.0.1; "
        "10.0.0.1 is a private address",
    ),
    (
        "/v1/images/generations",
        {"prompt": "x", "image": IMG, "negative_prompt": "y"},
        1201,
        "negative_prompt: is not allowed",
    ),
    (
        "/v1/images/generations",
        mi2i(scene_image=IMG, scence_image=image_b64(seed=3)),
        1201,
        "scene_image",
    ),
    ("/v1/videos/image2video", i2v(image=123), 1201, "image: "),
    # text2video: prompt, enums, ranges, per-model rules, on both prefixes
    ("/v1/videos/text2video", {}, 1201, "prompt: is required for text2video"),
    ("/kling/v1/videos/text2video", {"prompt": ""}, 1201, "prompt: is required for text2video"),
    ("/kling/v1/videos/text2video", t2v(prompt="x" * 501), 1201, "prompt: must be at most 500"),
    ("/v1/videos/text2video", t2v(prompt="x" * 2501), 1201, "prompt: must be at most 2500"),
    ("/v1/videos/text2video", t2v(aspect_ratio="4:3"), 1201, "aspect_ratio: "),
    ("/kling/v1/videos/text2video", t2v(duration="7"), 1201, "duration: "),
    ("/v1/videos/text2video", t2v(cfg_scale=1.5), 1201, "cfg_scale: "),
    ("/kling/v1/videos/text2video", t2v(mode="ultra"), 1201, "mode: "),
    (
        "/v1/videos/text2video",
        t2v(model_name="kling-v2-1"),
        1201,
        "model_name: kling-v2-1 is not available on videos/text2video",
    ),
    (
        "/kling/v1/videos/text2video",
        t2v(model_name="kling-v2-master", camera_control=CAMERA),
        1201,
        "camera_control: not supported by kling-v2-master",
    ),
    (
        "/v1/videos/text2video",
        t2v(camera_control=CAMERA, mode="pro"),
        1201,
        "camera_control: not supported by kling-v1 with mode pro and duration 5 s",
    ),
    # images/generations without subjects: text-to-image and one reference image
    ("/v1/images/generations", {}, 1201, "prompt: is required"),
    ("/kling/v1/images/generations", t2i(n=10), 1201, "n: "),
    ("/v1/images/generations", t2i(aspect_ratio="5:4"), 1201, "aspect_ratio: "),
    ("/kling/v1/images/generations", t2i(resolution="4k"), 1201, "resolution: "),
    (
        "/v1/images/generations",
        t2i(image_reference="subject"),
        1201,
        "image: is required when image_reference is set",
    ),
    (
        "/kling/v1/images/generations",
        t2i(image=IMG, human_fidelity=0.5),
        1201,
        "human_fidelity: is only allowed with image_reference subject",
    ),
    (
        "/v1/images/generations",
        t2i(image=IMG, image_reference="face", model_name="kling-v1"),
        1201,
        "image_reference: not supported by kling-v1",
    ),
    (
        "/kling/v1/images/generations",
        t2i(image=IMG, image_fidelity=0.5, model_name="kling-v2"),
        1201,
        "image_fidelity: not supported by kling-v2",
    ),
    ("/v1/images/generations", t2i(image=IMG, image_fidelity=1.5), 1201, "image_fidelity: "),
    (
        "/v1/images/generations",
        t2i(image=IMG, model_name="kling-v1-5"),
        1201,
        "image_reference: is required by kling-v1-5 when image is set",
    ),
]


def family_and_prefix(path: str) -> tuple[Family, Prefix]:
    """``/kling/v1/videos/image2video`` -> (IMAGE2VIDEO, COMETAPI), as the routes map it."""
    for prefix in sorted(Prefix, key=len, reverse=True):
        if path.startswith(prefix + "/"):
            return Family(path.removeprefix(prefix + "/")), prefix
    raise ValueError(f"no prefix of {path!r}")


def case_id(index: int, case: tuple[str, dict[str, Any], int, str]) -> str:
    return f"{index}-{case[3][:40]}"
