"""The diffusers adapters' last step: float frames in [0, 1] -> the MP4 the task serves."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from openreel.engines.base import RenderJob, TaskKind
from openreel.engines.diffusers.adapters.common import write_video
from tests.support.results import mp4_frames


def test_float_frames_become_an_even_sized_mp4_of_the_same_pictures(tmp_path: Path) -> None:
    # Odd sizes (the encoder needs even ones) and values past both ends of [0, 1].
    y, x = np.mgrid[0:49, 0:67].astype(np.float32)
    frames = np.stack(
        [np.stack([x / 66, y / 48, np.full_like(x, t / 8)], axis=-1) * 1.2 - 0.1 for t in range(9)]
    )
    job = RenderJob(
        task_id="t", kind=TaskKind.TEXT2VIDEO, model_name="m", params={}, images={},
        output_dir=tmp_path / "out", seed=0,
    )  # fmt: skip
    output = write_video(frames, job, fps=8)
    assert output.files[0].duration == "1.125" and output.files[0].content_type == "video/mp4"
    decoded, rate = mp4_frames(output.files[0].path.read_bytes())
    assert rate == Fraction(8) and len(decoded) == 9
    expected = np.clip(frames * 255 + 0.5, 0, 255).astype(np.uint8)[:, :48, :66]
    for got, want in zip(decoded, expected, strict=True):
        assert got.shape == (48, 66, 3)
        assert np.abs(got.astype(int) - want).mean() < 6  # H.264 at the engine's quality
    assert not list(job.output_dir.glob(".*partial"))  # nothing half-written left
