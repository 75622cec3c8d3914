"""The render plan: what the server decided at create time, stored beside the request as sent.

A task row keeps the client's request in ``params`` (inline images replaced by ``input:<field>``
placeholders: the pictures themselves are blobs) and this plan in ``plan``, as versioned JSON:
the output geometry, where each input image is, and the seed. The worker renders
from the plan; nothing server-private is mixed into the user's request.

The seed is a hash of the request's content, without the fields that identify a request rather
than describe it (``external_task_id``, ``callback_url``), so identical requests render
identical frames whoever sends them, through whichever host.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openreel.engines.base import ImageSpec, VideoSpec
from openreel.tasks.inputs import ImageField

__all__ = ["PLAN_VERSION", "PlanError", "RenderPlan", "request_seed"]

PLAN_VERSION = 1
# Fields that name or route a request but do not change what is rendered.
_NOT_CONTENT = frozenset({"external_task_id", "callback_url"})


class PlanError(ValueError):
    """A stored plan this version of openreel cannot read."""


def request_seed(body: Mapping[str, Any]) -> int:
    """A seed from the request's content (images included, as sent), so identical requests
    render identical outputs."""
    content = {k: v for k, v in body.items() if k not in _NOT_CONTENT}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31)


@dataclass(frozen=True)
class RenderPlan:
    """The engine itself is the row's ``engine`` column (workers claim by it)."""

    seed: int
    # Field path -> blob key of each image stored at create (inline base64 images).
    inputs: Mapping[str, str]
    # URL images: fetched and checked by the worker, then stored like the others.
    remote_inputs: tuple[ImageField, ...] = ()
    video: VideoSpec | None = None
    image: ImageSpec | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "seed": self.seed,
            "inputs": dict(self.inputs),
            "remote_inputs": [
                {
                    "path": f.path,
                    "value": f.value,
                    "aspect_rule": f.aspect_rule,
                    "is_mask": f.is_mask,
                }
                for f in self.remote_inputs
            ],
            "video": (
                None
                if self.video is None
                else {
                    "short_side": self.video.short_side,
                    "fps": self.video.fps,
                    "seconds": self.video.seconds,
                }
            ),
            "image": (
                None
                if self.image is None
                else {
                    "width": self.image.width,
                    "height": self.image.height,
                    "count": self.image.count,
                }
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RenderPlan:
        version = data.get("version")
        if version != PLAN_VERSION:
            raise PlanError(f"render plan version {version!r} is not {PLAN_VERSION}")
        try:
            video, image = data.get("video"), data.get("image")
            return cls(
                seed=int(data["seed"]),
                inputs={str(k): str(v) for k, v in dict(data["inputs"]).items()},
                remote_inputs=tuple(ImageField(**item) for item in data["remote_inputs"]),
                video=VideoSpec(**video) if video else None,
                image=ImageSpec(**image) if image else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"render plan is malformed: {exc}") from None
