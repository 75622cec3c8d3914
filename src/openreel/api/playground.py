"""The web playground: static files of ``openreel.web`` at ``/``, and the limits they check.

The page is public (it holds no data); its API calls carry the key the user typed in, like
any other client. ``/openreel/v1/limits`` is public too: it states rules, nothing more.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from openreel.api.deps import services_of
from openreel.tasks.limits import client_limits

STATIC_DIR = Path(str(files("openreel.web") / "static"))
LIMITS_PATH = "/openreel/v1/limits"


def install_playground(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def playground() -> FileResponse:
        # no-cache: a browser revalidates (ETag) so an upgraded server's page is picked up.
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get(LIMITS_PATH, summary="Request rules a client can check locally (openreel extension)")
    async def limits(request: Request) -> dict[str, Any]:
        return client_limits(services_of(request).tasks.router.custom_models())

    app.mount("/playground", StaticFiles(directory=STATIC_DIR), name="playground")
