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
from starlette.responses import Response
from starlette.types import Scope

from openreel.api.deps import services_of
from openreel.tasks.limits import client_limits

STATIC_DIR = Path(str(files("openreel.web") / "static"))
LIMITS_PATH = "/openreel/v1/limits"
# A browser revalidates (ETag) instead of guessing a lifetime, so after an upgrade the page
# never runs with the previous version's scripts. Other sites may not frame the page (it
# holds a key and creates tasks on click).
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


class RevalidatedFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_playground(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def playground() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get(LIMITS_PATH, summary="Request rules a client can check locally (openreel extension)")
    async def limits(request: Request) -> dict[str, Any]:
        return client_limits(services_of(request).tasks.router.custom_models())

    app.mount("/playground", RevalidatedFiles(directory=STATIC_DIR), name="playground")
