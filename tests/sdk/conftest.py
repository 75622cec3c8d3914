"""A live openreel server (a real process on a free port) shared by the SDK and CLI tests: one
for the whole package (their tasks are each their own; a server start is seconds). After
each test that used it, the tasks it left running are cancelled: a 720p render nobody waits
for would take seconds of CPU from the tests after it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openreel.sdk import Client, Endpoint, InvalidRequestError
from tests.support.helpers import create_pg_database, drop_pg_database, pg_admin_url
from tests.support.live import Live
from tests.support.server import ServerProcess, running_server


def _printed(server: ServerProcess, label: str) -> str:
    text = "".join(server.output)
    return text.split(f"{label}:")[1].split()[0]


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    env = {
        "OPENREEL_POLL_INTERVAL": "0.05",
        "OPENREEL_LEASE_SECONDS": "5",
        "OPENREEL_WORKERS": "2",
        "OPENREEL_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    database = None
    if pg_admin_url() is not None:
        url, database = create_pg_database()
        env["OPENREEL_DATABASE_URL"] = url
    data_dir: Path = tmp_path_factory.mktemp("sdk") / "data"
    try:
        with running_server(data_dir, env) as server:
            yield Live(
                url=server.url,
                api_key=server.printed_key(),
                access_key=_printed(server, "access key"),
                secret_key=_printed(server, "secret key"),
                server=server,
            )
    finally:
        if database is not None:
            drop_pg_database(database)


@pytest.fixture(autouse=True)
def _cancel_what_the_test_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "live" not in request.fixturenames:
        return
    live: Live = request.getfixturevalue("live")
    with Client(live.url, live.api_key) as client:
        for endpoint in Endpoint:
            for task in client.iterate(endpoint):
                if task.task_status in ("submitted", "processing"):
                    try:
                        client.cancel(task, endpoint=endpoint)
                    except InvalidRequestError:  # it ended in the meantime
                        pass
