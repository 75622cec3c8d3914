"""The clients' side of the task table: the insert of a created task (with its queue entry)
and owner-scoped reads, returning ``TaskView``s.

These are the hot paths (every poll is a query), so they run prepared statements that select
only the columns a response needs and compute the queue position in the same statement: a
poll is one statement, a create two (insert, then read back).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from openreel.store.db import Database
from openreel.store.outbox import record_event
from openreel.store.prepared import DuplicateKey, PreparedQuery, json_value
from openreel.store.tables import Base, TaskRow
from openreel.wire.tasks import TaskStatus

SUBMITTED = TaskStatus.SUBMITTED.value

# Queues the task (id, engine) inside the transaction that inserts its row (the queue's job).
Enqueue = Callable[[AsyncConnection, str, str], Awaitable[None]]
# Runs in the insert's transaction, before it; raising refuses the task (store.usage).
Guard = Callable[[Connection], None]
# Counting the whole queue on every poll costs O(queue); past this many tasks ahead the
# exact place matters little, so the count stops there (see docs/compat.md).
QUEUE_COUNT_CAP = 1000

_t = Base.metadata.tables[TaskRow.__tablename__]
_ahead = _t.alias("ahead")


@dataclass(frozen=True, slots=True)
class TaskView:
    """What a response shows of a task, plus what an idempotent create compares."""

    id: str
    family: str
    status: str
    status_msg: str
    progress: int
    external_task_id: str | None
    result: dict[str, Any] | None
    created_at: int
    updated_at: int
    request_hash: str
    engine: str
    # 1-based among submitted tasks, oldest first; QUEUE_COUNT_CAP + 1 means "more than
    # QUEUE_COUNT_CAP ahead". None unless submitted.
    queue_position: int | None
    # The request's watermark_info.enabled (echoed on every answer, as Kling's newer docs do).
    watermark: bool = False
    # The price quoted at create, in thousandths of a unit: what success charges.
    price_milli: int | None = None


def _queue_position() -> sa.Label[Any]:
    """Place among submitted tasks (oldest first), counted up to the cap; NULL unless submitted.

    One correlated subquery, so a poll is one round trip on PostgreSQL too.
    """
    ahead = (
        sa.select(sa.literal(1))
        .select_from(_ahead)
        .where(
            _ahead.c.status == SUBMITTED,
            # A plain range on the index's second column, which every planner can bound
            # (PostgreSQL 15 cannot bound a scan by a row-value comparison); the OR only
            # filters the tasks created in the same millisecond.
            _ahead.c.created_at <= _t.c.created_at,
            sa.or_(_ahead.c.created_at < _t.c.created_at, _ahead.c.id < _t.c.id),
        )
        .limit(QUEUE_COUNT_CAP)
        .correlate(_t)
        .subquery()
    )
    count = sa.select(sa.func.count()).select_from(ahead).scalar_subquery()
    return sa.case((_t.c.status == SUBMITTED, count + 1), else_=None).label("queue_position")


class _WatermarkEnabled(FunctionElement[Any]):
    """The request's ``watermark_info.enabled``, read inside the database rather than by
    loading the whole request on every poll; the JSON path is written into the SQL (prepared
    statements skip SQLAlchemy's processing of a bound JSON path)."""

    inherit_cache = True
    name = "watermark_enabled"


@compiles(_WatermarkEnabled)
def _watermark_sqlite(element: _WatermarkEnabled, compiler: SQLCompiler, **kw: Any) -> str:
    params = compiler.process(_t.c.params, **kw)
    return f"json_extract({params}, '$.watermark_info.enabled')"


@compiles(_WatermarkEnabled, "postgresql")
def _watermark_postgresql(element: _WatermarkEnabled, compiler: SQLCompiler, **kw: Any) -> str:
    params = compiler.process(_t.c.params, **kw)
    return f"(({params} -> 'watermark_info' ->> 'enabled') = 'true')"


_INSERT = PreparedQuery(sa.insert(_t))

_COLUMNS = (
    _t.c.id,
    _t.c.family,
    _t.c.status,
    _t.c.status_msg,
    _t.c.progress,
    _t.c.external_task_id,
    _t.c.result,
    _t.c.created_at,
    _t.c.updated_at,
    _t.c.request_hash,
    _t.c.engine,
    _t.c.price_milli,
    _queue_position(),
    _WatermarkEnabled().label("watermark"),
)


def _view(row: Sequence[Any]) -> TaskView:
    (
        task_id,
        family,
        status,
        msg,
        progress,
        external_id,
        result,
        created,
        updated,
        digest,
        engine,
        price,
        position,
        watermark,
    ) = row[: len(_COLUMNS)]
    return TaskView(
        id=task_id,
        family=family,
        status=status,
        status_msg=msg,
        progress=progress,
        external_task_id=external_id,
        result=json_value(result) if result is not None else None,
        created_at=created,
        updated_at=updated,
        request_hash=digest,
        engine=engine,
        queue_position=int(position) if position is not None else None,
        watermark=bool(watermark),
        price_milli=int(price) if price is not None else None,
    )


def _find() -> PreparedQuery:
    """Candidates by task_id, then by (owner, external_task_id).

    Each branch can only use its own unique index (primary key; uq_tasks_owner_external), so
    the plan does not depend on the planner's statistics; owner and family are checked by
    the caller (``ClientTasks.find``), and a task_id match comes first.
    """
    by_id = sa.select(*_COLUMNS, _t.c.owner_id, sa.literal(0).label("rank")).where(
        _t.c.id == sa.bindparam("x")
    )
    by_external = sa.select(*_COLUMNS, _t.c.owner_id, sa.literal(1).label("rank")).where(
        _t.c.owner_id == sa.bindparam("owner"), _t.c.external_task_id == sa.bindparam("x")
    )
    return PreparedQuery(sa.union_all(by_id, by_external).order_by("rank"))


_FIND = _find()
_BY_ID = PreparedQuery(sa.select(*_COLUMNS).where(_t.c.id == sa.bindparam("x")))
_BY_EXTERNAL_ID = PreparedQuery(
    sa.select(*_COLUMNS).where(
        _t.c.owner_id == sa.bindparam("owner"), _t.c.external_task_id == sa.bindparam("x")
    )
)
_PAGE = PreparedQuery(
    sa.select(*_COLUMNS)
    .where(_t.c.owner_id == sa.bindparam("owner"), _t.c.family == sa.bindparam("family"))
    .order_by(_t.c.created_at.desc(), _t.c.id.desc())
    .limit(sa.bindparam("size"))
    .offset(sa.bindparam("skip"))
)


_QUEUED_FOR_ENGINE = PreparedQuery(
    sa.select(sa.func.count())
    .select_from(_t)
    .where(_t.c.status == SUBMITTED, _t.c.engine == sa.bindparam("engine"))
)
_QUEUED_FOR_OWNER = PreparedQuery(
    sa.select(sa.func.count())
    .select_from(_t)
    .where(_t.c.status == SUBMITTED, _t.c.owner_id == sa.bindparam("owner"))
)


@dataclass(frozen=True)
class QueueLimits:
    """Tasks that may wait for a worker, per engine and per owner (0: no limit), checked in
    the transaction that inserts a task."""

    per_engine: int = 0
    per_owner: int = 0

    def __bool__(self) -> bool:
        return bool(self.per_engine or self.per_owner)


class QueueFull(Exception):
    """An insert would take the waiting tasks of an engine (``scope`` "engine") or an owner
    ("owner") past its limit; ``waiting`` is how many wait now."""

    def __init__(self, scope: str, waiting: int) -> None:
        super().__init__(f"{waiting} tasks waiting for this {scope}")
        self.scope = scope
        self.waiting = waiting


def _waiting(column: sa.ColumnElement[Any], value: str, limit: int) -> sa.Select[Any]:
    """Tasks waiting, counted no further than ``limit`` (the limit is all that matters)."""
    rows = (
        sa.select(sa.literal(1))
        .select_from(_t)
        .where(_t.c.status == SUBMITTED, column == value)
        .limit(limit)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(rows)


# Taken before counting, held until commit: the count and the insert are one step for every
# process on the database (PostgreSQL; on SQLite one process runs them inline, unbroken).
_ADMISSION_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def _check_room(conn: Connection, values: dict[str, Any], limits: QueueLimits) -> None:
    checks = (
        ("engine", _t.c.engine, values["engine"], limits.per_engine),
        ("owner", _t.c.owner_id, values["owner_id"], limits.per_owner),
    )
    if conn.dialect.name == "postgresql":
        # Always the engine's lock before the owner's, so two creates never deadlock.
        for scope, _, value, limit in checks:
            if limit:
                conn.execute(_ADMISSION_LOCK, {"name": f"openreel-admission/{scope}/{value}"})
    for scope, column, value, limit in checks:
        if limit:
            waiting = int(conn.execute(_waiting(column, value, limit)).scalar_one())
            if waiting >= limit:
                raise QueueFull(scope, waiting)


def _admit(
    conn: Connection, values: dict[str, Any], limits: QueueLimits, guard: Guard | None
) -> None:
    """A new task, after the queue limits and the guard, with its `submitted` callback event
    if it asked for callbacks."""
    _check_room(conn, values, limits)
    if guard is not None:
        guard(conn)
    conn.execute(sa.insert(_t).values(**values))
    if values["params"].get("callback_url"):
        record_event(conn, values, values["created_at"])


_QUEUED_BY_ENGINE = PreparedQuery(
    sa.select(_t.c.engine, sa.func.count()).where(_t.c.status == SUBMITTED).group_by(_t.c.engine)
)


class ClientTasks:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(
        self,
        values: dict[str, Any],
        enqueue: Enqueue | None = None,
        limits: QueueLimits = QueueLimits(),  # noqa: B008 (frozen)
        guard: Guard | None = None,
    ) -> TaskView:
        """Insert one task row; returns its view (with its place in the queue).

        ``enqueue`` adds the task's queue entry in the same transaction (PostgreSQL);
        ``guard`` runs in that transaction after the queue check and may refuse the task by
        raising. Raises ``DuplicateKey`` when the id or (owner, external_task_id) is taken,
        and ``QueueFull`` (nothing inserted) when the row would take a queue past ``limits``.
        """
        if enqueue is not None:
            await self._insert_and_enqueue(values, enqueue, limits, guard)
        elif limits or guard is not None or values["params"].get("callback_url"):
            await self._insert_with_event(values, limits, guard)
        else:
            row = {
                **values,
                "params": json.dumps(values["params"]),
                "plan": json.dumps(values["plan"]),
                "result": None,
            }
            async with self.db.raw() as conn:
                await conn.execute(_INSERT, **row)
        async with self.db.raw() as conn:
            return _view((await conn.all(_BY_ID, x=values["id"]))[0])

    async def _insert_with_event(
        self, values: dict[str, Any], limits: QueueLimits, guard: Guard | None
    ) -> None:
        """The task and its `submitted` callback event (if it asked for callbacks), after the
        queue limits and the guard, in one transaction."""
        try:
            await self.db.write(partial(_admit, values=values, limits=limits, guard=guard))
        except sa.exc.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from exc

    async def _insert_and_enqueue(
        self, values: dict[str, Any], enqueue: Enqueue, limits: QueueLimits, guard: Guard | None
    ) -> None:
        """The queue limits, the guard, the task, its `submitted` callback event and its
        queue job: one transaction."""
        try:
            async with self.db.transaction() as conn:
                await conn.run_sync(partial(_admit, values=values, limits=limits, guard=guard))
                await enqueue(conn, values["id"], values["engine"])
        except sa.exc.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from exc

    async def _first(self, query: PreparedQuery, **params: Any) -> TaskView | None:
        async with self.db.raw() as conn:
            rows = await conn.all(query, **params)
            return _view(rows[0]) if rows else None

    async def by_external_id(self, owner_id: str, external_task_id: str) -> TaskView | None:
        return await self._first(_BY_EXTERNAL_ID, owner=owner_id, x=external_task_id)

    async def find(self, owner_id: str, family: str, task_or_external_id: str) -> TaskView | None:
        """A task of this owner and family by task_id, else by external_task_id."""
        async with self.db.raw() as conn:
            rows = await conn.all(_FIND, owner=owner_id, x=task_or_external_id)
        owner_at = len(_COLUMNS)
        for row in rows:
            view = _view(row)
            if row[owner_at] == owner_id and view.family == family:
                return view
        return None

    async def queued_by_engine(self) -> dict[str, int]:
        """Tasks waiting for a worker, per engine (the queue depth gauge)."""
        async with self.db.raw() as conn:
            rows = await conn.all(_QUEUED_BY_ENGINE)
        return {str(engine): int(count) for engine, count in rows}

    async def queued(self, engine: str, owner_id: str) -> tuple[int, int]:
        """Tasks waiting for a worker: (for ``engine``, for ``owner_id``)."""
        async with self.db.raw() as conn:
            for_engine = (await conn.all(_QUEUED_FOR_ENGINE, engine=engine))[0][0]
            for_owner = (await conn.all(_QUEUED_FOR_OWNER, owner=owner_id))[0][0]
        return int(for_engine), int(for_owner)

    async def page(self, owner_id: str, family: str, page: int, size: int) -> list[TaskView]:
        async with self.db.raw() as conn:
            rows = await conn.all(
                _PAGE, owner=owner_id, family=family, size=size, skip=(page - 1) * size
            )
            return [_view(row) for row in rows]
