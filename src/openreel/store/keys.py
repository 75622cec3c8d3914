"""API key rows: create, look up by hash or access key, list, revoke."""

from __future__ import annotations

import sqlalchemy as sa

from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.tables import ApiKeyRow


class KeyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, row: ApiKeyRow) -> None:
        async with self.db.session() as session, session.begin():
            session.add(row)

    async def count_active(self) -> int:
        async with self.db.session() as session:
            stmt = (
                sa.select(sa.func.count())
                .select_from(ApiKeyRow)
                .where(ApiKeyRow.revoked_at.is_(None))
            )
            return int((await session.execute(stmt)).scalar_one())

    async def by_hash(self, key_hash: str) -> ApiKeyRow | None:
        async with self.db.session() as session:
            stmt = sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)
            return (await session.execute(stmt)).scalar_one_or_none()

    async def by_access_key(self, access_key: str) -> ApiKeyRow | None:
        async with self.db.session() as session:
            stmt = sa.select(ApiKeyRow).where(ApiKeyRow.access_key == access_key)
            return (await session.execute(stmt)).scalar_one_or_none()

    async def list(self) -> list[ApiKeyRow]:
        async with self.db.session() as session:
            stmt = sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at)
            return list((await session.execute(stmt)).scalars())

    async def revoke(self, id_or_prefix: str) -> ApiKeyRow | None:
        """Revoke by id, key prefix or access key; returns the row, or None if unknown."""
        async with self.db.session() as session, session.begin():
            stmt = sa.select(ApiKeyRow).where(
                sa.or_(
                    ApiKeyRow.id == id_or_prefix,
                    ApiKeyRow.key_prefix == id_or_prefix,
                    ApiKeyRow.access_key == id_or_prefix,
                )
            )
            row = (await session.execute(stmt)).scalars().first()
            if row is not None and row.revoked_at is None:
                row.revoked_at = now_ms()
            return row
