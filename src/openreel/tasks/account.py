"""``GET /account/costs``: the caller's resource packs, in Kling's shape.

Kling requires ``start_time`` and ``end_time`` (epoch ms) and lists the packs of the account;
openreel lists the key's pack when its validity overlaps [start_time, end_time] (a monthly
pack is valid from its creation on), with what is left of it now. ``resource_pack_name``
keeps only the pack of that name.
"""

from __future__ import annotations

from collections.abc import Mapping

from openreel.store.pack_period import PackPeriod
from openreel.store.usage import PackState, UsageRepository
from openreel.wire.account import (
    AccountCosts,
    ResourcePackInfo,
    ResourcePackStatus,
    ResourcePackType,
)
from openreel.wire.errors import illegal

MS_RULE = "Unix time in milliseconds"


def _time(query: Mapping[str, str], name: str) -> int:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        raise illegal(name, f"is required ({MS_RULE})")
    try:
        value = int(raw)
    except ValueError:
        raise illegal(name, f"must be an integer ({MS_RULE}), got {raw!r}") from None
    if value < 0:
        raise illegal(name, f"must be >= 0 ({MS_RULE})")
    return value


def _status(pack: PackState, now: int) -> ResourcePackStatus:
    if now < pack.period_start:
        return ResourcePackStatus.TO_BE_ONLINE
    if pack.period_end is not None and now >= pack.period_end:
        return ResourcePackStatus.EXPIRED
    if pack.remaining_milli <= 0:
        return ResourcePackStatus.RUN_OUT
    return ResourcePackStatus.ONLINE


def _info(pack: PackState, now: int) -> ResourcePackInfo:
    monthly = pack.period == PackPeriod.MONTHLY
    return ResourcePackInfo(
        resource_pack_name=pack.name,
        resource_pack_id=pack.id,
        resource_pack_type=(
            ResourcePackType.CONSTANT_PERIOD if monthly else ResourcePackType.DECREASING_TOTAL
        ),
        total_quantity=pack.total_milli / 1000,
        remaining_quantity=pack.remaining_milli / 1000,
        purchase_time=pack.purchase_time,
        effective_time=pack.period_start,
        # A monthly pack's current period ends with the month; a one-off pack always ends.
        invalid_time=pack.period_end if pack.period_end is not None else pack.period_start,
        status=_status(pack, now),
    )


async def account_costs(
    usage: UsageRepository, owner_id: str, query: Mapping[str, str], now: int
) -> AccountCosts:
    start = _time(query, "start_time")
    end = _time(query, "end_time")
    if end < start:
        raise illegal("end_time", f"must not be before start_time ({end} < {start})")
    name = query.get("resource_pack_name") or None
    infos = []
    for pack in await usage.packs(owner_id, now):
        valid_from = pack.purchase_time
        valid_until = None if pack.period == PackPeriod.MONTHLY else pack.period_end
        if valid_from > end or (valid_until is not None and valid_until < start):
            continue
        if name is not None and pack.name != name:
            continue
        infos.append(_info(pack, now))
    return AccountCosts(resource_pack_subscribe_infos=infos)
