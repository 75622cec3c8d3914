"""Alembic migrations go up and down cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from openreel.config import Settings
from openreel.store.db import Database, downgrade_base


async def test_upgrade_downgrade_upgrade(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert {"tasks", "api_keys", "alembic_version"} <= tables
        async with db.engine.begin() as conn:
            await conn.run_sync(downgrade_base)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert "tasks" not in tables and "api_keys" not in tables
        await db.migrate()
        await db.migrate()  # idempotent
        async with db.engine.connect() as conn:
            version = (
                await conn.execute(sa.text("select version_num from alembic_version"))
            ).scalar()
        assert version == "0001"
    finally:
        await db.dispose()
