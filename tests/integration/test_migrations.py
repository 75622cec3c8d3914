"""Alembic migrations go up and down cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from openreel.config import Settings
from openreel.store.db import Database, downgrade_base
from openreel.store.tables import Base


def tables(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


async def test_upgrade_downgrade_upgrade(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
        ours = {"tasks", "api_keys", "webhook_deliveries", "webhook_attempts"}
        assert ours | {"alembic_version"} <= await db.read(tables)
        await db.write(downgrade_base)
        assert not ours & await db.read(tables)
        await db.migrate()
        await db.migrate()  # idempotent
        version = await db.read(
            lambda conn: conn.execute(sa.text("select version_num from alembic_version")).scalar()
        )
        assert version == "0002"
        indexes = await db.read(lambda conn: sa.inspect(conn).get_indexes("tasks"))
        claim = next(i for i in indexes if i["name"] == "ix_tasks_claim")
        assert claim["column_names"] == ["status", "created_at", "id"]
    finally:
        await db.dispose()


async def test_migrated_schema_matches_the_tables_the_code_uses(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()

        def differences(conn: sa.Connection) -> list[object]:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))

        assert await db.read(differences) == []
    finally:
        await db.dispose()
