"""Alembic migrations go up and down cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from openreel.config import Settings
from openreel.store.db import Database, downgrade_base


def tables(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


async def test_upgrade_downgrade_upgrade(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
        assert {"tasks", "api_keys", "alembic_version"} <= await db.read(tables)
        await db.write(downgrade_base)
        assert not {"tasks", "api_keys"} & await db.read(tables)
        await db.migrate()
        await db.migrate()  # idempotent
        version = await db.read(
            lambda conn: conn.execute(sa.text("select version_num from alembic_version")).scalar()
        )
        assert version == "0001"
        indexes = await db.read(lambda conn: sa.inspect(conn).get_indexes("tasks"))
        claim = next(i for i in indexes if i["name"] == "ix_tasks_claim")
        assert claim["column_names"] == ["status", "created_at", "id"]
    finally:
        await db.dispose()
