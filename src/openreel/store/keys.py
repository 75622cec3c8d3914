"""API key rows: create, look up by hash or access key, list, revoke."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.tables import ApiKeyRow, Base

_k = Base.metadata.tables[ApiKeyRow.__tablename__]


def _key(row: Any) -> ApiKeyRow:
    return ApiKeyRow(**row._mapping)


def key_matches(id_or_prefix: str) -> sa.ColumnElement[bool]:
    """A key by id, key prefix or access key (what the CLI accepts)."""
    return sa.or_(
        _k.c.id == id_or_prefix,
        _k.c.key_prefix == id_or_prefix,
        _k.c.access_key == id_or_prefix,
    )


class KeyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, row: ApiKeyRow) -> None:
        values = {c.name: getattr(row, c.name) for c in _k.columns}
        await self.db.write(lambda conn: conn.execute(sa.insert(_k).values(**values)))

    async def count_active(self) -> int:
        stmt = sa.select(sa.func.count()).select_from(_k).where(_k.c.revoked_at.is_(None))
        return await self.db.read(lambda conn: int(conn.execute(stmt).scalar_one()))

    async def _one(self, stmt: sa.Select[Any]) -> ApiKeyRow | None:
        def query(conn: Connection) -> ApiKeyRow | None:
            row = conn.execute(stmt).one_or_none()
            return _key(row) if row is not None else None

        return await self.db.read(query)

    async def by_hash(self, key_hash: str) -> ApiKeyRow | None:
        return await self._one(sa.select(_k).where(_k.c.key_hash == key_hash))

    async def by_access_key(self, access_key: str) -> ApiKeyRow | None:
        return await self._one(sa.select(_k).where(_k.c.access_key == access_key))

    async def list(self) -> list[ApiKeyRow]:
        stmt = sa.select(_k).order_by(_k.c.created_at)
        return await self.db.read(lambda conn: [_key(row) for row in conn.execute(stmt)])

    async def by_id(self, key_id: str) -> ApiKeyRow | None:
        return await self._one(sa.select(_k).where(_k.c.id == key_id))

    async def webhook_secrets(self, key_id: str) -> tuple[str, ...]:
        """The secrets that sign this key's callbacks: current first, then the one it
        replaced while a rotation is under way."""
        row = await self.by_id(key_id)
        if row is None:
            return ()
        return tuple(s for s in (row.webhook_secret, row.webhook_secret_previous) if s)

    async def set_webhook_secret(
        self, id_or_prefix: str, secret: str | None, *, keep_previous: bool
    ) -> ApiKeyRow | None:
        """Make ``secret`` the key's signing secret (None: unsigned). With ``keep_previous``
        the old one keeps signing too until ``end_rotation``. None if no key matches."""

        def change(conn: Connection) -> ApiKeyRow | None:
            row = conn.execute(
                sa.select(_k).where(key_matches(id_or_prefix)).limit(1)
            ).one_or_none()
            if row is None:
                return None
            previous = row.webhook_secret if keep_previous and secret else None
            conn.execute(
                sa.update(_k)
                .where(_k.c.id == row.id)
                .values(webhook_secret=secret, webhook_secret_previous=previous)
            )
            return _key(row)

        return await self.db.write(change)

    async def end_rotation(self, id_or_prefix: str) -> ApiKeyRow | None:
        """Stop signing with the previous secret."""

        def change(conn: Connection) -> ApiKeyRow | None:
            row = conn.execute(
                sa.select(_k).where(key_matches(id_or_prefix)).limit(1)
            ).one_or_none()
            if row is None:
                return None
            conn.execute(
                sa.update(_k).where(_k.c.id == row.id).values(webhook_secret_previous=None)
            )
            return _key(row)

        return await self.db.write(change)

    async def revoke(self, id_or_prefix: str) -> ApiKeyRow | None:
        """Revoke by id, key prefix or access key; returns the row, or None if unknown."""
        match = key_matches(id_or_prefix)

        def change(conn: Connection) -> ApiKeyRow | None:
            row = conn.execute(sa.select(_k).where(match).limit(1)).one_or_none()
            if row is None:
                return None
            if row.revoked_at is None:
                conn.execute(sa.update(_k).where(_k.c.id == row.id).values(revoked_at=now_ms()))
            return _key(row)

        return await self.db.write(change)
