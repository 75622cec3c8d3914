"""The baseline: a bare FastAPI app with openreel's two image2video routes and nothing else.

The GET returns an envelope of the same shape and size as a task query; the POST parses
the JSON body exactly as openreel's create route does (``Body()`` of type ``Any``) and
returns a similar envelope. There is no database, middleware or validation, so the ratio
openreel/bare is what openreel's own work costs on top of FastAPI + uvicorn.

It is served exactly as ``openreel serve`` serves openreel (see ``openreel.cli.serve``):
``uvicorn.run(app, host, port, log_level="info", timeout_graceful_shutdown=10)`` in one
process, so both have the same loop (uvloop), HTTP parser (httptools) and access log.

    python bench/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Annotated, Any

from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse


def _task_data(task_id: str, created_at: int) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "task_status": "submitted",
        "task_status_msg": "",
        "task_info": {},
        "task_result": {},
        "created_at": created_at,
        "updated_at": created_at,
        "progress": 0,
        "queue_position": 1,
    }


def _envelope(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}
    )


def create_app() -> FastAPI:
    app = FastAPI(title="bare")
    created_at = int(time.time() * 1000)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/videos/image2video/{task_id}")
    async def get_task(task_id: str) -> JSONResponse:
        return _envelope(_task_data(task_id, created_at))

    @app.post("/v1/videos/image2video")
    async def create_task(body: Annotated[Any, Body()]) -> JSONResponse:
        # Touch the parsed body so the parse cannot be skipped or optimised away.
        size = len(body.get("image", "")) if isinstance(body, dict) else 0
        return _envelope(_task_data(f"{7_000_000_000_000_000_000 + size}", created_at))

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
