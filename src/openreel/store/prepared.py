"""Statements compiled once per dialect and run through the driver directly.

A task poll is one small indexed query; SQLAlchemy's per-execution work (building the
statement, its cache key, parameter and result processing) cost several times the query
itself. A ``PreparedQuery`` keeps the dialect's SQL string; a ``Reader`` runs it on the
driver's cursor of a connection SQLAlchemy checked out (so pooling stays SQLAlchemy's).
Results come back as raw tuples: JSON columns must be decoded by the caller (``json_value``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class PreparedQuery:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def bind(self, dialect: Dialect, params: dict[str, Any]) -> tuple[str, Any]:
        """The dialect's SQL and the driver arguments (positional or named) for ``params``."""
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            sql = cast(SQLCompiler, self.statement.compile(dialect=dialect))
            # Literals in the statement (e.g. status = 'submitted') are bound parameters too.
            defaults = dict(sql.params)
            order = tuple(sql.positiontup or ()) if dialect.positional else None
            compiled = _Compiled(str(sql), defaults, order)
            self._compiled[dialect.name] = compiled
        values = {**compiled.defaults, **params}
        if compiled.order is not None:
            return compiled.sql, tuple(values[name] for name in compiled.order)
        return compiled.sql, values


class DuplicateKey(Exception):
    """An insert hit a unique constraint (the driver's IntegrityError, whichever driver)."""


class RawConnection(Protocol):
    """Runs prepared statements on one checked-out connection, each committed on its own."""

    async def all(self, query: PreparedQuery, **params: Any) -> Sequence[Any]: ...

    async def execute(self, query: PreparedQuery, **params: Any) -> None: ...


class InlineConnection:
    """On a synchronous connection, inline (SQLite: microseconds, see store.db)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def all(self, query: PreparedQuery, **params: Any) -> Sequence[Any]:
        sql, args = query.bind(self.conn.dialect, params)
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql, args)
            return cursor.fetchall()
        finally:
            cursor.close()

    async def execute(self, query: PreparedQuery, **params: Any) -> None:
        sql, args = query.bind(self.conn.dialect, params)
        dbapi = self.conn.connection
        cursor = dbapi.cursor()
        try:
            cursor.execute(sql, args)
            dbapi.commit()
        except self.conn.dialect.loaded_dbapi.IntegrityError as exc:
            dbapi.rollback()
            raise DuplicateKey(str(exc)) from exc
        finally:
            cursor.close()


class AsyncDriverConnection:
    """On the async driver connection itself (psycopg, autocommit), skipping SQLAlchemy's
    sync adapter and its greenlet hops."""

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        self.driver = driver
        self.dialect = dialect

    async def all(self, query: PreparedQuery, **params: Any) -> Sequence[Any]:
        sql, args = query.bind(self.dialect, params)
        async with self.driver.cursor() as cursor:
            await cursor.execute(sql, args)
            rows: Sequence[Any] = await cursor.fetchall()
            return rows

    async def execute(self, query: PreparedQuery, **params: Any) -> None:
        sql, args = query.bind(self.dialect, params)
        try:
            async with self.driver.cursor() as cursor:
                await cursor.execute(sql, args)
        except self.dialect.loaded_dbapi.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from exc


@dataclass(frozen=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]
    order: tuple[str, ...] | None


def json_value(value: Any) -> Any:
    """A JSON column as Python: SQLite hands back text, psycopg already-decoded values."""
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value
