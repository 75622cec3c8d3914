"""The price table: how many units a task charges its key when it succeeds.

Kling bills "units" from prepaid resource packs. openreel quotes each task's price at create
(``price_of``), refuses a create its key's pack cannot pay for (1102), and charges the price
when the task succeeds (``task_usage``); a failed or cancelled task charges nothing.

Sources (as of 2026-12-04): Kling's pricing pages "Video" and "Image"
(https://kling.ai/document-api/pricing/base/video and .../image), as mirrored in
aself101/kling-api ``docs/api/kling-pricing-video.md`` and ``kling-pricing-image.md``
(fetched 2026-09-20; spec addendum "Published unit prices"). Published there:

- kling-v2-5-turbo: 0.3 units/s at 720p (std), 0.5 at 1080p (pro), no audio;
- kling-v2-6: 0.3 / 0.5 units/s without audio, 1.0 at 1080p with native audio (sound on);
- kling-v3: 0.6 / 0.8 units/s without audio, 0.9 / 1.2 with audio;
- images: kling-v3, kling-v3-omni, kling-image-o1 8 units/image; kling-v2-1 4 (text-to-image),
  8 (image-to-image), 16 (multi-image-to-image) units/image.

ASSUMED (no figure in the spec or the pricing pages, which list only current models):
kling-v1 1 unit per 5 s std, 3.5 pro; kling-v1-5, kling-v1-6 and kling-v2-1 2 / 3.5;
kling-v2-master and kling-v2-1-master 10 per 5 s (Kling's earlier per-5-second price list);
kling-v1 images 1 unit, kling-v1-5, kling-v2 and kling-v2-new 4 (text) / 8 (image) / 16
(multi-image) like kling-v2-1; every other model name (``*``) is priced like kling-v1.
``OPENREEL_PRICES`` replaces any of these (README, docs/compat.md).

Videos are priced per second of output, images per image (times ``n``). Prices are kept in
thousandths of a unit (``milli``) so sums are exact on every database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field

from openreel.wire.families import TaskKind

__all__ = [
    "DEFAULT_PRICES",
    "FALLBACK",
    "ModelPrice",
    "PriceTable",
    "Priced",
    "format_units",
    "milli",
    "parse_units",
]

FALLBACK = "*"  # the entry of every model name the table does not list

# Per-second keys: the mode, with "+sound" when the request asks for native audio.
# Per-image keys: what the request does.
TEXT_TO_IMAGE = "text2image"
IMAGE_TO_IMAGE = "image2image"
MULTI_IMAGE_TO_IMAGE = "multi_image2image"


class ModelPrice(BaseModel):
    """One model's prices in units (``OPENREEL_PRICES`` entries take this shape; a key
    absent from an override keeps the built-in value)."""

    model_config = ConfigDict(extra="forbid")

    per_second: dict[str, Decimal] = Field(
        default_factory=dict,
        description='video: units per second of output by mode ("std", "pro", "pro+sound")',
    )
    per_image: dict[str, Decimal] = Field(
        default_factory=dict,
        description='images: units per image ("text2image", "image2image", "multi_image2image")',
    )


def _video(std: str, pro: str, pro_sound: str | None = None) -> ModelPrice:
    per_second = {"std": Decimal(std), "pro": Decimal(pro)}
    if pro_sound is not None:
        per_second["pro+sound"] = Decimal(pro_sound)
    return ModelPrice(per_second=per_second)


def _images(text: str, image: str, multi: str) -> dict[str, Decimal]:
    return {
        TEXT_TO_IMAGE: Decimal(text),
        IMAGE_TO_IMAGE: Decimal(image),
        MULTI_IMAGE_TO_IMAGE: Decimal(multi),
    }


_V1_IMAGES = _images("1", "1", "1")  # assumed
_V2_IMAGES = _images("4", "8", "16")  # published for kling-v2-1; assumed for the others
_EIGHT = _images("8", "8", "8")

DEFAULT_PRICES: dict[str, ModelPrice] = {
    # Published per-second prices (720p std / 1080p pro).
    "kling-v2-5-turbo": _video("0.3", "0.5"),
    "kling-v2-6": _video("0.3", "0.5", pro_sound="1.0"),
    "kling-v3": ModelPrice(
        per_second={
            "std": Decimal("0.6"),
            "pro": Decimal("0.8"),
            "std+sound": Decimal("0.9"),
            "pro+sound": Decimal("1.2"),
        },
        per_image=_EIGHT,
    ),
    "kling-v3-omni": ModelPrice(per_image=_EIGHT),
    "kling-image-o1": ModelPrice(per_image=_EIGHT),
    "kling-v2-1": ModelPrice(per_second=_video("0.4", "0.7").per_second, per_image=_V2_IMAGES),
    # Assumed (see the module docstring): per 5 s -> per second.
    "kling-v1": ModelPrice(per_second=_video("0.2", "0.7").per_second, per_image=_V1_IMAGES),
    "kling-v1-5": ModelPrice(per_second=_video("0.4", "0.7").per_second, per_image=_V2_IMAGES),
    "kling-v1-6": _video("0.4", "0.7"),
    "kling-v2-master": _video("2", "2"),
    "kling-v2-1-master": _video("2", "2"),
    "kling-v2": ModelPrice(per_image=_V2_IMAGES),
    "kling-v2-new": ModelPrice(per_image=_V2_IMAGES),
    FALLBACK: ModelPrice(per_second=_video("0.2", "0.7").per_second, per_image=_V1_IMAGES),
}

_MILLI = Decimal(1000)


def milli(units: Decimal) -> int:
    """Units -> thousandths of a unit, rounded half up."""
    return int((units * _MILLI).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_units(text: str) -> int | None:
    """Kling's string form (``"1"``, ``"2.5"``) -> thousandths, or None when it is not a
    finite, non-negative number."""
    try:
        units = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    if not units.is_finite() or units < 0:
        return None
    return milli(units)


def format_units(milli_units: int) -> str:
    """Thousandths -> Kling's string form: ``"1"``, ``"1.5"``, ``"0.25"``."""
    text = format(Decimal(milli_units) / _MILLI, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Priced:
    """What a task is: enough to price it."""

    kind: TaskKind
    model_name: str
    mode: str = "std"
    seconds: int = 0
    sound: bool = False
    images: int = 0
    has_reference_image: bool = False


class PriceTable:
    """The built-in prices with ``overrides`` merged in per model and key."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        table = {name: price.model_copy(deep=True) for name, price in DEFAULT_PRICES.items()}
        for name, override in (overrides or {}).items():
            base = table.setdefault(name, ModelPrice())
            base.per_second.update(override.per_second)
            base.per_image.update(override.per_image)
        self.table = table

    def _lookup(self, model: str, attribute: str, key: str) -> Decimal:
        for name in (model, FALLBACK):
            prices: dict[str, Decimal] = getattr(self.table.get(name, ModelPrice()), attribute)
            if key in prices:
                return prices[key]
        return Decimal(0)  # an override can only add keys: the fallback always has these

    def price(self, task: Priced) -> int:
        """The task's price in thousandths of a unit."""
        if task.kind.makes_video:
            key = f"{task.mode}+sound" if task.sound else task.mode
            if task.sound and not self._has(task.model_name, key):
                key = task.mode
            return milli(self._lookup(task.model_name, "per_second", key) * task.seconds)
        if task.kind == TaskKind.MULTI_IMAGE2IMAGE:
            key = MULTI_IMAGE_TO_IMAGE
        else:
            key = IMAGE_TO_IMAGE if task.has_reference_image else TEXT_TO_IMAGE
        return milli(self._lookup(task.model_name, "per_image", key) * task.images)

    def _has(self, model: str, key: str) -> bool:
        return key in self.table.get(model, ModelPrice()).per_second
