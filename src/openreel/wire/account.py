"""``GET /account/costs``: the key's resource packs and what is left of them, in Kling's shape.

Kling nests a second ``{code, msg}`` inside ``data`` (the envelope's own ``code``/``message``
stay as on every endpoint). Quantities are JSON numbers (Kling's example: ``200.0``); times
are epoch milliseconds.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ResourcePackType(StrEnum):
    DECREASING_TOTAL = "decreasing_total"  # a one-off pack: used up, never refilled
    CONSTANT_PERIOD = "constant_period"  # the same quantity every period (openreel: monthly)


class ResourcePackStatus(StrEnum):
    TO_BE_ONLINE = "toBeOnline"
    ONLINE = "online"
    EXPIRED = "expired"
    RUN_OUT = "runOut"


class ResourcePackInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    resource_pack_name: str
    resource_pack_id: str
    resource_pack_type: ResourcePackType
    total_quantity: float
    remaining_quantity: float
    purchase_time: int
    effective_time: int
    invalid_time: int
    status: ResourcePackStatus


class AccountCosts(BaseModel):
    """The ``data`` of ``GET /account/costs``."""

    model_config = ConfigDict(extra="allow")

    code: int = 0
    msg: str = "SUCCEED"
    resource_pack_subscribe_infos: list[ResourcePackInfo] = Field(default_factory=list)
