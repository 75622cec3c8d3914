"""Statements compiled once per dialect and run through the driver directly.

A task poll is one small indexed query; SQLAlchemy's per-execution work (building the
statement, its cache key, parameter and result processing) cost several times the query
itself. A ``PreparedQuery`` keeps the dialect's SQL string and runs it on the DB-API cursor
of the connection SQLAlchemy checked out (so pooling and transactions stay SQLAlchemy's).
Results come back as raw tuples: JSON columns must be decoded by the caller (``json_value``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class PreparedQuery:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, conn: Connection) -> _Compiled:
        compiled = self._compiled.get(conn.dialect.name)
        if compiled is None:
            sql = cast(SQLCompiler, self.statement.compile(dialect=conn.dialect))
            # Literals in the statement (e.g. status = 'submitted') are bound parameters too.
            defaults = dict(sql.params)
            order = tuple(sql.positiontup or ()) if conn.dialect.positional else None
            compiled = _Compiled(str(sql), defaults, order)
            self._compiled[conn.dialect.name] = compiled
        return compiled

    def all(self, conn: Connection, **params: Any) -> Sequence[Any]:
        compiled = self._for(conn)
        values = {**compiled.defaults, **params}
        args: Any = (
            tuple(values[name] for name in compiled.order) if compiled.order is not None else values
        )
        # The DB-API cursor directly: SQLAlchemy's result machinery cost as much as the query.
        cursor = conn.connection.cursor()
        try:
            cursor.execute(compiled.sql, args)
            return cursor.fetchall()
        finally:
            cursor.close()


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
