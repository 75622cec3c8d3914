"""``/readyz``: ready only when the database answers, its schema is at the code's head and the
queue is reachable; ``/healthz`` answers whenever the process does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command

import openreel.store
from openreel.store.db import Database, alembic_config
from tests.support.api import Api

pytestmark = pytest.mark.db


def test_ready_when_everything_answers(api_factory: Callable[..., Api]) -> None:
    api = api_factory()
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "queue": "ok"},
    }
    assert "/readyz" not in api.client.get("/openapi.json").json()["paths"]


def newest_migration() -> str:
    versions = Path(openreel.store.__file__).parent / "migrations" / "versions"
    return max(path.name.split("_")[0] for path in versions.glob("[0-9]*_*.py"))


def test_not_ready_when_the_schema_is_behind(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    assert api.client.portal is not None
    api.client.portal.call(
        api.services.db.write, lambda conn: command.downgrade(alembic_config(conn), "0002")
    )
    answer = api.client.get("/readyz")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["migrations"] == f"at 0002, this code needs {newest_migration()}: migrate"
    assert api.client.get("/healthz").status_code == 200


def test_not_ready_when_the_database_is_unreachable(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    live = api.services.db
    api.services.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    try:
        answer = api.client.get("/readyz")
    finally:
        assert api.client.portal is not None
        api.client.portal.call(api.services.db.dispose)
        api.services.db = live
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"].startswith("unreachable (")


def test_the_procrastinate_queue_is_checked(
    api_factory: Callable[..., Api], database_url: str | None
) -> None:
    if database_url is None:
        pytest.skip("Procrastinate needs PostgreSQL")
    api = api_factory(workers=0, queue="procrastinate")
    assert api.client.get("/readyz").json()["checks"]["queue"] == "ok"
    assert api.client.portal is not None
    api.client.portal.call(api.services.queue.stop)  # its connection pool closed
    answer = api.client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["queue"].startswith("the Procrastinate queue is unreachable")
    api.client.portal.call(api.services.queue.start)
