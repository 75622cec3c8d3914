"""Endpoint families (the path a task is created and polled on) and path prefixes."""

from __future__ import annotations

from enum import StrEnum


class Prefix(StrEnum):
    """``/kling/v1`` follows CometAPI's documented limits; ``/v1`` follows Kling's own."""

    COMETAPI = "/kling/v1"
    KLING = "/v1"


class Family(StrEnum):
    IMAGE2VIDEO = "videos/image2video"
    MULTI_IMAGE2VIDEO = "videos/multi-image2video"
    IMAGE_GENERATIONS = "images/generations"
    MULTI_IMAGE2IMAGE = "images/multi-image2image"
