"""Request bodies of the create endpoints, as Kling and CometAPI document them.

These models check structure, types, enums and ranges that hold on every path prefix and
for every model. Rules that depend on the prefix (CometAPI's shorter prompt limits), on the
Kling model (capability map) or on the routed engine live in ``openreel.tasks.rules``.
Unknown fields are accepted and ignored (Kling clients send extras such as ``aspect_ratio``
on image2video); see docs/compat.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

Mode = Literal["std", "pro"]
VideoAspectRatio = Literal["16:9", "9:16", "1:1"]
ImageAspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"]
Resolution = Literal["1k", "2k"]
CameraType = Literal["simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward"]


def _duration_as_string(value: object) -> object:
    # Kling documents a string; clients also send the number. Both mean the same.
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value


Duration = Annotated[Literal["5", "10"], BeforeValidator(_duration_as_string)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=False)


class WatermarkInfo(BaseModel):
    model_config = ConfigDict(extra="allow")
    enabled: bool = False


class TrajectoryPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int
    y: int


class DynamicMask(BaseModel):
    model_config = ConfigDict(extra="allow")
    mask: str
    trajectories: list[TrajectoryPoint] = Field(min_length=2, max_length=77)


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    horizontal: float = Field(default=0, ge=-10, le=10)
    vertical: float = Field(default=0, ge=-10, le=10)
    pan: float = Field(default=0, ge=-10, le=10)
    tilt: float = Field(default=0, ge=-10, le=10)
    roll: float = Field(default=0, ge=-10, le=10)
    zoom: float = Field(default=0, ge=-10, le=10)

    def non_zero(self) -> dict[str, float]:
        return {name: value for name, value in self.model_dump().items() if value != 0}


class CameraControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: CameraType
    config: CameraConfig | None = None

    @model_validator(mode="after")
    def _config_matches_type(self) -> CameraControl:
        if self.type == "simple":
            if self.config is None:
                raise ValueError("config is required when type is simple")
            moving = self.config.non_zero()
            if len(moving) != 1:
                raise ValueError(
                    "with type simple exactly one of horizontal, vertical, pan, tilt, roll, zoom "
                    f"must be non-zero (got {len(moving)})"
                )
        elif self.config is not None and self.config.non_zero():
            raise ValueError(f"config must be omitted when type is {self.type}")
        return self


class _TaskOptions(_Body):
    """Fields every create endpoint shares."""

    model_name: str | None = None
    # Legacy Kling field; when present without model_name it means the default model.
    model: str | None = None
    callback_url: str | None = None
    external_task_id: str | None = Field(default=None, min_length=1, max_length=256)
    watermark_info: WatermarkInfo | None = None


class Image2VideoRequest(_TaskOptions):
    image: str | None = None
    image_tail: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    cfg_scale: float | None = Field(default=None, ge=0, le=1)
    mode: Mode = "std"
    duration: Duration = "5"
    static_mask: str | None = None
    dynamic_masks: list[DynamicMask] | None = Field(default=None, max_length=6)
    camera_control: CameraControl | None = None
    sound: Literal["on", "off"] | None = None

    @model_validator(mode="after")
    def _groups_are_exclusive(self) -> Image2VideoRequest:
        if not self.image and not self.image_tail:
            raise ValueError("image: at least one of image and image_tail is required")
        groups = [
            name
            for name, used in (
                ("image_tail", bool(self.image_tail)),
                ("static_mask/dynamic_masks", bool(self.static_mask or self.dynamic_masks)),
                ("camera_control", self.camera_control is not None),
            )
            if used
        ]
        if len(groups) > 1:
            raise ValueError(
                f"{' and '.join(groups)} cannot be combined: use only one of image_tail, "
                "static_mask/dynamic_masks, camera_control"
            )
        return self

    @field_validator("dynamic_masks")
    @classmethod
    def _at_least_one_group(cls, value: list[DynamicMask] | None) -> list[DynamicMask] | None:
        if value is not None and len(value) == 0:
            return None
        return value


class Text2VideoRequest(_TaskOptions):
    """``videos/text2video``: image2video's fields without images, plus ``aspect_ratio``."""

    prompt: str | None = None
    negative_prompt: str | None = None
    cfg_scale: float | None = Field(default=None, ge=0, le=1)
    mode: Mode = "std"
    duration: Duration = "5"
    aspect_ratio: VideoAspectRatio = "16:9"
    camera_control: CameraControl | None = None
    sound: Literal["on", "off"] | None = None


class ImageItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    image: str


class MultiImage2VideoRequest(_TaskOptions):
    image_list: list[ImageItem] = Field(min_length=1, max_length=4)
    prompt: str | None = None
    negative_prompt: str | None = None
    mode: Mode = "std"
    duration: Duration = "5"
    aspect_ratio: VideoAspectRatio = "16:9"
    cfg_scale: float | None = Field(default=None, ge=0, le=1)


class SubjectImageItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    subject_image: str


class MultiImage2ImageRequest(_TaskOptions):
    subject_image_list: list[SubjectImageItem] = Field(min_length=1, max_length=4)
    scene_image: str | None = None
    # CometAPI's documented spelling (a typo kept by its gateway); accepted as scene_image.
    scence_image: str | None = None
    style_image: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    n: int = Field(default=1, ge=1, le=9)
    aspect_ratio: ImageAspectRatio = "16:9"
    resolution: Resolution = "1k"

    @model_validator(mode="after")
    def _one_scene(self) -> MultiImage2ImageRequest:
        if self.scence_image and self.scene_image and self.scence_image != self.scene_image:
            raise ValueError("scene_image: scene_image and scence_image must not differ")
        if self.scence_image and not self.scene_image:
            self.scene_image = self.scence_image
        self.scence_image = None
        return self


class ImageGenerationRequest(_TaskOptions):
    """Plain ``images/generations`` (text-to-image / image-to-image) without subjects."""

    prompt: str | None = None
    negative_prompt: str | None = None
    image: str | None = None
    image_reference: Literal["subject", "face"] | None = None
    image_fidelity: float | None = Field(default=None, ge=0, le=1)
    human_fidelity: float | None = Field(default=None, ge=0, le=1)
    n: int = Field(default=1, ge=1, le=9)
    aspect_ratio: ImageAspectRatio = "16:9"
    resolution: Resolution = "1k"


CreateRequest = (
    Image2VideoRequest
    | Text2VideoRequest
    | MultiImage2VideoRequest
    | MultiImage2ImageRequest
    | ImageGenerationRequest
)
