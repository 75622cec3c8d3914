"""Alembic environment: runs on the connection the app hands over (see store.db)."""

from __future__ import annotations

from alembic import context

from openreel.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through store.db
    raise RuntimeError("run migrations through openreel.store.db.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
