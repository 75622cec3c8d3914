"""Task store: SQLAlchemy 2 (async) tables, repositories and Alembic migrations."""

from __future__ import annotations
