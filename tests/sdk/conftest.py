"""A live openreel server (a real process on a free port) shared by the SDK and CLI tests: one
for the whole package (their tasks are each their own; a server start is seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
