"""Kling's cfg_scale (0..1) as a pipeline guidance scale (``adapters/guidance.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openreel.engines.diffusers.adapters.guidance import guidance_scale


@pytest.mark.parametrize(
    ("cfg_scale", "expected"),
    [(0.0, 1.0), (0.25, 3.0), (0.5, 5.0), (0.75, 7.0), (1.0, 9.0), (None, 5.0)],
)
def test_linear_through_kling_landmarks(cfg_scale: float | None, expected: float) -> None:
    # A model configured at 5: 0 -> no guidance, Kling's default 0.5 -> the model's own value.
    assert guidance_scale(cfg_scale, 5.0) == pytest.approx(expected)


def test_each_model_keeps_its_own_default() -> None:
    assert guidance_scale(0.5, 3.0) == 3.0 and guidance_scale(0.5, 4.0) == 4.0
    assert guidance_scale(1.0, 3.0) == pytest.approx(5.0)


@pytest.mark.parametrize("cfg_scale", [0.0, 0.5, 1.0])
def test_a_distilled_model_stays_without_guidance(cfg_scale: float) -> None:
    assert guidance_scale(cfg_scale, 1.0) == 1.0
    assert guidance_scale(cfg_scale, 0.0) == 0.0


def test_out_of_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="cfg_scale must be between 0 and 1"):
        guidance_scale(1.5, 5.0)


def test_every_adapter_gets_it_through_the_common_arguments(tmp_path: Path) -> None:
    from openreel.engines.base import RenderJob, TaskKind
    from openreel.engines.diffusers.adapters.common import common_arguments
    from openreel.engines.diffusers.spec import ModelSpec

    def arguments(params: dict[str, object]) -> dict[str, object]:
        job = RenderJob("t", TaskKind.TEXT2VIDEO, "m", params, {}, tmp_path, seed=1)
        spec = ModelSpec(adapter="wan_t2v", guidance_scale=5.0)
        return common_arguments(job, spec, lambda step, total: None)

    assert arguments({"prompt": "a", "cfg_scale": 0.75})["guidance_scale"] == pytest.approx(7.0)
    assert arguments({"prompt": "a"})["guidance_scale"] == 5.0
