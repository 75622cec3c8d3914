"""Fetching user-supplied image URLs through the guarded client (``net.safe_http``).

Bodies are capped at the 10 MB image limit while streaming; what comes back is then decoded
only as JPEG or PNG by the caller (``media.images``).
"""

from __future__ import annotations

from openreel.errors import InputError
from openreel.media.images import MAX_IMAGE_BYTES
from openreel.net.safe_http import FetchFailed, FetchLimits, SafeHttp

__all__ = ["fetch_image", "image_limits"]

_ACCEPT = "image/png, image/jpeg;q=0.9, image/*;q=0.5"


def image_limits(total_timeout: float, connect_timeout: float) -> FetchLimits:
    return FetchLimits(
        max_bytes=MAX_IMAGE_BYTES,
        connect_timeout=connect_timeout,
        total_timeout=total_timeout,
    )


async def fetch_image(http: SafeHttp, url: str, field: str, limits: FetchLimits) -> bytes:
    """The body at ``url``; an ``InputError`` naming ``field`` if it may not or cannot be
    fetched."""
    try:
        return await http.get_bytes(url, field, limits, accept=_ACCEPT)
    except FetchFailed as exc:
        raise InputError(field, f"could not fetch image: {exc.reason}") from None
