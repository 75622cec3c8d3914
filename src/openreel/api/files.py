"""Result files behind HMAC-signed, time-limited URLs, with HTTP Range for video seeking."""

from __future__ import annotations

import asyncio
import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from openreel.api.deps import services_of
from openreel.wire.errors import ErrorCode, KlingError

router = APIRouter()

CONTENT_TYPES = {".mp4": "video/mp4", ".png": "image/png", ".jpg": "image/jpeg"}


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def get_file(request: Request, key: str, exp: int = 0, sig: str = "") -> FileResponse:
    services = services_of(request)
    if not sig or not services.signer.verify(key, exp, sig):
        raise KlingError(ErrorCode.NO_PERMISSION, "sig: invalid file signature")
    if services.signer.expired(exp):
        raise KlingError(
            ErrorCode.NO_PERMISSION, "exp: file URL has expired; query the task for a fresh URL"
        )
    blobs = services.files  # mounted only when blobs are local (app.py)
    if (
        blobs is None
        or not key.startswith("outputs/")
        or not await asyncio.to_thread(blobs.exists, key)
    ):
        raise KlingError(ErrorCode.NOT_FOUND, "file does not exist")
    path = blobs.local_path(key)
    media_type = CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return FileResponse(path, media_type=media_type or "application/octet-stream")
