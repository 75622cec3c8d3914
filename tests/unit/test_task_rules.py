"""The domain's pure functions, without an app: request parsing (pydantic errors -> Kling
errors naming the field), the prefix limits, ``plan_task`` (model defaults, the output
geometry, the image fields to store), the render plan and its seed, and the limits document
the playground reads."""

from __future__ import annotations

from typing import Any

import pytest

from openreel.config import DEFAULT_ROUTES
from openreel.engines.base import ImageSpec, VideoSpec
from openreel.engines.registry import build_engines
from openreel.tasks.inputs import ImageField
from openreel.tasks.kling_models import DEFAULT_MODEL, video_rules_for
from openreel.tasks.limits import MAX_BODY_BYTES, client_limits, max_images_per_request
from openreel.tasks.plan import PLAN_VERSION, PlanError, RenderPlan, request_seed
from openreel.tasks.routing import EngineRouter
from openreel.tasks.rules import TaskPlan, image_size, limits_for, plan_task
from openreel.wire.errors import ErrorCode, KlingError
from openreel.wire.families import Family, Prefix, TaskKind
from openreel.wire.parsing import field_path, parse_request

ROUTER = EngineRouter(build_engines({}), dict(DEFAULT_ROUTES))
IMG = "aGVsbG8="  # parsing and planning do not decode pictures


def plan(family: Family, body: dict[str, Any], prefix: Prefix = Prefix.KLING) -> TaskPlan:
    return plan_task(parse_request(family, body), family, prefix, ROUTER)


def test_field_paths_name_list_items() -> None:
    assert field_path(("image_list", 0, "image")) == "image_list[0].image"
    assert field_path(("dynamic_masks", 2, "trajectories", 1, "x")) == (
        "dynamic_masks[2].trajectories[1].x"
    )
    assert field_path(()) == ""


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_is_1200(body: Any) -> None:
    with pytest.raises(KlingError) as refused:
        parse_request(Family.IMAGE2VIDEO, body)
    assert refused.value.code == ErrorCode.INVALID_PARAMS
    assert refused.value.message == "request body must be a JSON object"


def test_a_missing_list_item_field_is_required_by_its_path() -> None:
    with pytest.raises(KlingError) as refused:
        parse_request(Family.MULTI_IMAGE2VIDEO, {"image_list": [{"image": IMG}, {}]})
    assert refused.value.code == ErrorCode.ILLEGAL_VALUE
    assert refused.value.message == "image_list[1].image: is required"


def test_prefix_limits() -> None:
    comet = limits_for(Prefix.COMETAPI, TaskKind.IMAGE2VIDEO)
    assert (comet.prompt, comet.negative_prompt, comet.min_images) == (500, 200, 2)
    comet_mi2i = limits_for(Prefix.COMETAPI, TaskKind.MULTI_IMAGE2IMAGE)
    assert (comet_mi2i.prompt, comet_mi2i.min_images) == (2500, 2)
    for kind in TaskKind:
        kling = limits_for(Prefix.KLING, kind)
        assert (kling.prompt, kling.negative_prompt, kling.min_images) == (2500, 2500, 1)


def test_image2video_plan_defaults_the_model_and_sets_the_video_geometry() -> None:
    made = plan(Family.IMAGE2VIDEO, {"image": IMG, "mode": "pro", "duration": "10"})
    rules = video_rules_for(TaskKind.IMAGE2VIDEO, DEFAULT_MODEL[TaskKind.IMAGE2VIDEO])
    assert made.model_name == DEFAULT_MODEL[TaskKind.IMAGE2VIDEO] == made.params["model_name"]
    assert made.kind == TaskKind.IMAGE2VIDEO and made.engine == "classic"
    assert made.video == VideoSpec(short_side=rules.short_side["pro"], fps=rules.fps, seconds=10)
    assert made.image is None
    assert made.image_fields == [ImageField("image", IMG)]


def test_the_image_fields_to_store_carry_their_rules() -> None:
    body = {
        "image": IMG,
        "static_mask": IMG,
        "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}],
        "model_name": "kling-v1-5",
        "mode": "pro",
    }
    made = plan(Family.IMAGE2VIDEO, body)
    assert [(f.path, f.aspect_rule, f.is_mask) for f in made.image_fields] == [
        ("image", True, False),
        ("static_mask", False, True),
        ("dynamic_masks[0].mask", False, True),
    ]


def test_multi_image2image_plan_sets_the_image_geometry() -> None:
    body = {
        "subject_image_list": [{"subject_image": IMG}] * 2,
        "aspect_ratio": "16:9",
        "resolution": "2k",
        "n": 3,
    }
    made = plan(Family.MULTI_IMAGE2IMAGE, body)
    width, height = image_size("16:9", "2k")
    assert made.image == ImageSpec(width=width, height=height, count=3)
    assert [f.path for f in made.image_fields] == [
        "subject_image_list[0].subject_image",
        "subject_image_list[1].subject_image",
    ]
    assert all(not f.aspect_rule for f in made.image_fields)


@pytest.mark.parametrize(
    ("ratio", "resolution", "size"),
    [("1:1", "1k", (1024, 1024)), ("16:9", "1k", (1360, 765)), ("1:1", "2k", (2048, 2048))],
)
def test_image_size_keeps_the_exact_ratio(
    ratio: str, resolution: str, size: tuple[int, int]
) -> None:
    assert image_size(ratio, resolution) == size
    a, b = (int(p) for p in ratio.split(":"))
    assert size[0] * b == size[1] * a


def test_the_seed_hashes_content_not_identity() -> None:
    body = {"image": IMG, "prompt": "a"}
    seed = request_seed(body)
    assert 0 <= seed < 2**31
    assert request_seed({**body, "external_task_id": "x", "callback_url": "http://h/"}) == seed
    assert request_seed({"prompt": "a", "image": IMG}) == seed  # key order does not count
    assert request_seed({**body, "prompt": "b"}) != seed


def test_the_render_plan_round_trips_and_refuses_other_versions() -> None:
    plan_ = RenderPlan(
        seed=7,
        inputs={"image": "inputs/t/image.png"},
        remote_inputs=(ImageField("image_tail", "https://example.com/a.png"),),
        video=VideoSpec(short_side=720, fps=24, seconds=5),
    )
    stored = plan_.to_json()
    assert stored["version"] == PLAN_VERSION
    assert RenderPlan.from_json(stored) == plan_
    with pytest.raises(PlanError, match="version"):
        RenderPlan.from_json({**stored, "version": PLAN_VERSION + 1})
    with pytest.raises(PlanError, match="malformed"):
        RenderPlan.from_json({"version": PLAN_VERSION, "seed": 1})


def test_the_limits_document_states_the_rules_the_domain_applies() -> None:
    document = client_limits(["house"])
    assert document["custom_models"] == ["house"]
    assert document["request"] == {
        "max_body_bytes": MAX_BODY_BYTES,
        "max_images": max_images_per_request(),
    }
    endpoints = document["endpoints"]
    for name, kind in (
        ("image2video", TaskKind.IMAGE2VIDEO),
        ("multi_image2image", TaskKind.MULTI_IMAGE2IMAGE),
    ):
        limits = limits_for(Prefix(document["prefix"]), kind)
        assert endpoints[name]["text"] == {
            "prompt": limits.prompt,
            "negative_prompt": limits.negative_prompt,
        }
        assert endpoints[name]["default_model"] == DEFAULT_MODEL[kind]
        assert Family(endpoints[name]["path"]).value == endpoints[name]["path"]
    assert endpoints["image2video"]["aspect_rule"] == {"image": True, "image_tail": True}
    assert endpoints["multi_image2image"]["aspect_rule"] == {
        "subject_image_list": False,
        "scene_image": False,
        "style_image": False,
    }
