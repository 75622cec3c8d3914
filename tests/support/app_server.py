"""An app built in the test process (any engines, e.g. a stand-in), served by uvicorn on a
free loopback port in a background thread: for browser tests that need an engine a real
``openreel serve`` process cannot load."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from openreel.auth.keys import issue_key
from openreel.services import Services
from tests.support.server import free_port


@dataclass(frozen=True)
class ServedApp:
    url: str
    api_key: str


@contextmanager
def serving(app: FastAPI, timeout: float = 30) -> Iterator[ServedApp]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        services: Services = app.state.services
        issued = asyncio.run_coroutine_threadsafe(issue_key(services.keys, "browser"), loop)
        yield ServedApp(f"http://127.0.0.1:{port}", issued.result(timeout).api_key)
    finally:
        server.should_exit = True
        thread.join(timeout)
        loop.close()
