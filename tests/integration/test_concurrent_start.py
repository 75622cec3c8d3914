"""Nodes that start together on a new PostgreSQL database: one migrates, the others wait."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from openreel.queue.procrastinate import conninfo, ensure_schema
from openreel.store.db import Database

pytestmark = pytest.mark.db


async def test_concurrent_migrations_and_queue_schema(database_url: str | None) -> None:
    if database_url is None:
        pytest.skip("PostgreSQL only (a SQLite file belongs to one process)")
    databases = [Database(database_url) for _ in range(4)]
    try:
        await asyncio.gather(*(db.migrate() for db in databases))
        created = await asyncio.gather(*(ensure_schema(database_url) for _ in range(4)))
    finally:
        for db in databases:
            await db.dispose()
    assert sorted(created) == [False, False, False, True]  # applied exactly once
    with psycopg.connect(conninfo(database_url)) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert {"tasks", "alembic_version", "procrastinate_jobs", "procrastinate_workers"} <= tables
