"""Database access for SQLite (default) or PostgreSQL, and schema migration.

Repositories write each query once, as a function of a synchronous SQLAlchemy ``Connection``,
and hand it to ``Database.read`` or ``Database.write``:

- SQLite: the function runs inline on the event loop over the stdlib driver. A SQLite query
  takes microseconds and, in WAL mode, readers never wait for the writer; running it inline is
  ~10x cheaper than handing it to aiosqlite's thread (measured: 0.08 ms vs 1.1 ms per task
  query). Inline execution also serialises this process's writers, so they never queue up in
  SQLite's sleeping busy handler.
- PostgreSQL: the function runs through the async psycopg engine (``run_sync``), so the loop
  is never blocked on the network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from openreel.store.prepared import AsyncDriverConnection, InlineConnection, RawConnection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
T = TypeVar("T")

# Only another process (e.g. `openreel keys create`) can hold SQLite's write lock while the
# loop waits on it; such writes take milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000
# pg_advisory_xact_lock key serialising migrations: "orl-migr" in ASCII.
MIGRATION_LOCK = 0x6F726C2D6D696772


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sync_sqlite_url(url: str) -> str:
    return url.replace("sqlite+aiosqlite://", "sqlite+pysqlite://", 1)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        if self.is_sqlite:
            path = url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._sync = create_engine(
                _sync_sqlite_url(url),
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                pool_size=5,
                max_overflow=10,
            )
            event.listen(self._sync, "connect", _sqlite_pragmas)
        else:
            # Recycle instead of pre-ping: a ping per checkout doubles the round trips.
            self._async = create_async_engine(url, pool_size=20, max_overflow=20, pool_recycle=1800)

    def _engine(self) -> AsyncEngine:
        if self._async is None:
            raise RuntimeError("this database is SQLite: it has no async engine")
        return self._async

    async def read(self, query: Callable[[Connection], T]) -> T:
        """Run ``query`` on a connection without a write transaction."""
        if self._sync is not None:
            with self._sync.connect() as conn:
                return query(conn)
        async with self._engine().connect() as conn:
            return await conn.run_sync(query)

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[RawConnection]:
        """A connection for prepared statements, each its own transaction (the hot path:
        task polls and creates)."""
        if self._sync is not None:
            with self._sync.connect() as conn:
                yield InlineConnection(conn)
            return
        # Autocommit: no BEGIN/COMMIT/ROLLBACK around single statements, fewer round trips.
        async with self._engine().connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = await conn.get_raw_connection()
            yield AsyncDriverConnection(raw.driver_connection, conn.dialect)

    async def write(self, change: Callable[[Connection], T]) -> T:
        """Run ``change`` in one transaction, committed when it returns."""
        if self._sync is not None:
            with self._sync.begin() as conn:
                return change(conn)
        async with self._engine().begin() as conn:
            return await conn.run_sync(change)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """PostgreSQL only: one transaction on an async connection, committed on exit, for
        work that must share it with another library (a Procrastinate job defer)."""
        if self._async is None:
            raise RuntimeError("Database.transaction needs PostgreSQL")
        async with self._async.begin() as conn:
            yield conn

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        await self.write(_upgrade_head)

    async def dispose(self) -> None:
        if self._sync is not None:
            self._sync.dispose()
        if self._async is not None:
            await self._async.dispose()


def schema_revisions(connection: Connection) -> tuple[str | None, str | None]:
    """(the database's migration revision, the newest this code knows)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return current, head


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade_head(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Nodes that start together on a new database: one migrates, the others wait for
        # its commit (the lock is the transaction's) and then find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), "head")


def downgrade_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")
