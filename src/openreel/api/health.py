"""Liveness and readiness probes, outside the API prefixes and without a key.

``/healthz``: the process answers HTTP (restart it if not). ``/readyz``: it can do its work
(send it traffic only if so): the database answers, its schema is at this code's migration
head, and the task queue is reachable. 503 names the check that failed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openreel.api.deps import services_of
from openreel.store.db import schema_revisions

router = APIRouter()
CHECK_TIMEOUT = 5.0


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    services = services_of(request)
    checks: dict[str, Any] = {}
    try:
        current, head = await asyncio.wait_for(
            services.db.read(schema_revisions), timeout=CHECK_TIMEOUT
        )
    except Exception as exc:  # the database is down, or slow past the probe's patience
        checks["database"] = f"unreachable ({type(exc).__name__}: {exc})"
        checks["migrations"] = "unknown (no database)"
    else:
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok" if current == head else f"at {current}, this code needs {head}: migrate"
        )
    try:
        problem = await asyncio.wait_for(services.queue.check(), timeout=CHECK_TIMEOUT)
    except Exception as exc:
        problem = f"unreachable ({type(exc).__name__}: {exc})"
    checks["queue"] = problem or "ok"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
