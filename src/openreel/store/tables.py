"""ORM tables. Times are integer epoch milliseconds, as on the wire, on every database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(sa.String(16))
    access_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Kept as is: verifying an HS256 JWT needs the shared secret itself.
    secret_key: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    # Standard Webhooks secrets (whsec_...) that sign this key's callbacks; kept as is because
    # signing needs them. During a rotation both sign (two signatures in one header).
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    webhook_secret_previous: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "external_task_id", name="uq_tasks_owner_external"),
        sa.Index("ix_tasks_claim", "status", "created_at", "id"),
        sa.Index("ix_tasks_owner_family_created", "owner_id", "family", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.String(32))
    family: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    model_name: Mapped[str] = mapped_column(sa.String(128))
    engine: Mapped[str] = mapped_column(sa.String(64))
    external_task_id: Mapped[str | None] = mapped_column(sa.String(256), nullable=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    # The request as the client sent it (inline images replaced by input:<field> markers).
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The server's decisions, versioned JSON (tasks.plan.RenderPlan): engine, sizes, inputs, seed.
    plan: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Where result links in this task's callbacks point: the API address the client used.
    callback_base_url: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    status_msg: Mapped[str] = mapped_column(sa.Text, default="")
    progress: Mapped[int] = mapped_column(sa.Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    lease_expires_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
    # The price quoted at create, in thousandths of a unit (exact sums on every database);
    # charged to task_usage when the task succeeds. NULL: created before prices existed.
    price_milli: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class TaskUsageRow(Base):
    """One row per succeeded task: the units it charged its key (failed tasks charge none)."""

    __tablename__ = "task_usage"
    __table_args__ = (sa.Index("ix_task_usage_owner_charged", "owner_id", "charged_at"),)

    task_id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(32))
    model_name: Mapped[str] = mapped_column(sa.String(128))
    units_milli: Mapped[int] = mapped_column(sa.BigInteger)
    charged_at: Mapped[int] = mapped_column(sa.BigInteger)


class ResourcePackRow(Base):
    """A key's resource pack (at most one per key): a one-off quantity of units, or a
    quantity every calendar month (UTC)."""

    __tablename__ = "resource_packs"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    period: Mapped[str] = mapped_column(sa.String(16))  # store.pack_period.PackPeriod
    total_milli: Mapped[int] = mapped_column(sa.BigInteger)
    purchase_time: Mapped[int] = mapped_column(sa.BigInteger)
    effective_time: Mapped[int] = mapped_column(sa.BigInteger)
    # One-off packs end here; monthly packs have none (each month is a new period).
    invalid_time: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class CallbackEventRow(Base):
    """Outbox: one callback event of one task, written with the status change it reports."""

    __tablename__ = "webhook_deliveries"  # the table keeps its first name (no rename migration)
    __table_args__ = (
        sa.UniqueConstraint("task_id", "seq", name="uq_webhook_deliveries_task_seq"),
        sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # the webhook-id
    task_id: Mapped[str] = mapped_column(sa.String(24))
    owner_id: Mapped[str] = mapped_column(sa.String(32))
    seq: Mapped[int] = mapped_column(sa.Integer)  # order of the task's events, from 1
    url: Mapped[str] = mapped_column(sa.Text)
    task_status: Mapped[str] = mapped_column(sa.String(16))
    # The task as it was at the change (result as blob keys: URLs are minted when sent).
    event: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(sa.String(16))  # outbox.EventState
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)  # in this round of retries
    next_attempt_at: Mapped[int] = mapped_column(sa.BigInteger)
    lease_until: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
    delivered_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class CallbackAttemptRow(Base):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(sa.String(32))
    number: Mapped[int] = mapped_column(sa.Integer)  # 1-based over the delivery's life
    started_at: Mapped[int] = mapped_column(sa.BigInteger)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    status_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    error: Mapped[str] = mapped_column(sa.Text, default="")


class EngineSlotRow(Base):
    """A task an engine runs elsewhere (a relayed task's upstream task), counted against the
    ``max_concurrency`` of its pool (the upstream) and key while its task holds a live lease;
    ``nudges`` counts the upstream's callbacks (each one makes the render ask upstream now)."""

    __tablename__ = "engine_slots"
    __table_args__ = (sa.Index("ix_engine_slots_pool", "pool", "pool_key"),)

    task_id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    pool: Mapped[str] = mapped_column(sa.String(160))  # the engine: relay:<upstream>
    pool_key: Mapped[str] = mapped_column(sa.String(64))  # the key's fingerprint, never the key
    holder: Mapped[str] = mapped_column(sa.String(200))  # the worker that took the slot
    taken_at: Mapped[int] = mapped_column(sa.BigInteger)
    nudges: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")


class UpstreamCancelRow(Base):
    """A cancel still owed to the place a task ran (the relay: its upstream task), recorded
    with the local cancel so that it is sent even when no worker holds the task, and once."""

    __tablename__ = "upstream_cancels"
    __table_args__ = (sa.Index("ix_upstream_cancels_due", "state", "due_at"),)

    task_id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    engine: Mapped[str] = mapped_column(sa.String(64))
    # Before then only the task's last worker may send it (its lease was still running).
    due_at: Mapped[int] = mapped_column(sa.BigInteger)
    state: Mapped[str] = mapped_column(sa.String(16))  # pending | sent | unfound
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
