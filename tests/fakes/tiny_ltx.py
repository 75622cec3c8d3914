"""Tiny, randomly initialised LTX-Video weights (``LTXConditionPipeline``), saved like real
ones (``openreel.engines.diffusers.random_weights``)."""

from __future__ import annotations

from pathlib import Path

from openreel.engines.diffusers.adapters.ltx import LtxTextToVideo, LtxVideo
from openreel.engines.diffusers.random_weights import save_ltx
from tests.fakes.tiny_wan import recording

RecordingLtx = recording(LtxVideo)
RecordingLtxTextToVideo = recording(LtxTextToVideo)


def save_tiny_ltx(path: Path) -> Path:
    return save_ltx(path, scale="tiny")
