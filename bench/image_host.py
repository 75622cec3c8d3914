"""A tiny static image host for the URL-image scenario, in its own process.

Serves one file from memory at ``/image.<ext>`` (and ``/healthz``) with a raw ASGI app on
uvicorn, access log off, so fetching the image costs openreel a loopback round trip and
almost nothing else. It is a separate process so it never competes for openreel's GIL.

    python bench/image_host.py --port 8002 --file picture.png
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

Scope = dict[str, Any]


def make_app(path: Path) -> Any:
    data = path.read_bytes()
    kind = b"image/png" if path.suffix.lower() == ".png" else b"image/jpeg"
    route = f"/image{path.suffix.lower()}"
    image_headers = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == route:
            status, headers, body = 200, image_headers, data
        elif scope["path"] == "/healthz":
            status, headers, body = 200, [(b"content-type", b"text/plain")], b"ok"
        else:
            status, headers, body = 404, [(b"content-type", b"text/plain")], b"not found"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.file),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
