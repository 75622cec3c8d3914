"""Alembic migrations go up and down cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects.postgresql import JSONB

from openreel.config import Settings
from openreel.store.db import Database, alembic_config, downgrade_base
from openreel.store.tables import Base

pytestmark = pytest.mark.db


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
        assert version == "0006"
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


OLD_PARAMS = {
    "model_name": "kling-v1",
    "prompt": "a cat",
    "image": "input:image",
    "callback_url": "https://hooks.example.com/x",
    "base_url": "https://api.example.com/",
    "inputs": {"image": "inputs/7/image.png"},
    "remote_inputs": [
        {
            "path": "image_tail",
            "value": "https://img.example.com/t.png",
            "aspect_rule": True,
            "is_mask": False,
        }
    ],
    "video_spec": {"short_side": 720, "fps": 30, "seconds": 5},
}


async def test_0003_moves_server_keys_out_of_the_request(
    make_settings: Callable[..., Settings],
) -> None:
    """A task stored by 0002 (server keys inside params) comes out of the upgrade with the
    request as sent, its plan (with the seed it had) and its callback base URL; a downgrade
    puts it back as it was."""
    from openreel.store.tasks import TaskRepository
    from openreel.tasks.plan import RenderPlan

    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.write(lambda conn: command.upgrade(alembic_config(conn), "0002"))
        row = {
            "id": "7", "owner_id": "k", "family": "videos/image2video", "kind": "image2video",
            "model_name": "kling-v1", "engine": "classic", "external_task_id": None,
            "request_hash": "", "status": "submitted", "status_msg": "", "progress": 0,
            "attempts": 0, "created_at": 1, "updated_at": 1,
        }  # fmt: skip
        tasks = sa.table("tasks", *(sa.column(name) for name in [*row, "params"]))
        await db.write(
            lambda conn: conn.execute(
                sa.insert(tasks).values(**row, params=sa.func.json(json.dumps(OLD_PARAMS)))
                if conn.dialect.name == "sqlite"
                else sa.insert(tasks).values(**row, params=sa.cast(json.dumps(OLD_PARAMS), JSONB))
            )
        )
        await db.migrate()
        task = await TaskRepository(db).get("7")
        assert task is not None
        assert dict(task.params) == {
            "model_name": "kling-v1",
            "prompt": "a cat",
            "image": "input:image",
            "callback_url": "https://hooks.example.com/x",
        }
        assert task.callback_base_url == "https://api.example.com/"
        plan = RenderPlan.from_json(task.plan)
        assert plan.inputs == {"image": "inputs/7/image.png"}
        assert [f.path for f in plan.remote_inputs] == ["image_tail"]
        assert plan.video is not None and plan.video.short_side == 720
        stable = {k: v for k, v in OLD_PARAMS.items() if k != "inputs"}
        digest = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).digest()
        assert plan.seed == int.from_bytes(digest[:4], "big") % (2**31)

        await db.write(lambda conn: command.downgrade(alembic_config(conn), "0002"))
        params = await db.read(
            lambda conn: conn.execute(sa.text("select params from tasks")).scalar()
        )
        restored = json.loads(params) if isinstance(params, str) else params
        assert restored == OLD_PARAMS
    finally:
        await db.dispose()


async def test_0004_usage_tables_go_up_and_down(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)

    def to(revision: str) -> Callable[[sa.Connection], None]:
        def run(conn: sa.Connection) -> None:
            cfg = alembic_config(conn)
            if revision == "0003":
                command.downgrade(cfg, revision)
            else:
                command.upgrade(cfg, revision)

        return run

    def task_columns(conn: sa.Connection) -> set[str]:
        return {c["name"] for c in sa.inspect(conn).get_columns("tasks")}

    try:
        await db.migrate()
        assert {"task_usage", "resource_packs"} <= await db.read(tables)
        assert "price_milli" in await db.read(task_columns)
        await db.write(to("0003"))
        assert not {"task_usage", "resource_packs"} & await db.read(tables)
        assert "price_milli" not in await db.read(task_columns)
        await db.write(to("0004"))
        assert {"task_usage", "resource_packs"} <= await db.read(tables)
        indexes = await db.read(lambda conn: sa.inspect(conn).get_indexes("task_usage"))
        assert [i["column_names"] for i in indexes] == [["owner_id", "charged_at"]]
    finally:
        await db.dispose()
