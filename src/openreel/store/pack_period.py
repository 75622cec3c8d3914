"""How a resource pack renews: its own module, without SQLAlchemy, so that the CLI (whose
``keys quota --period`` option names it) starts without loading the store."""

from __future__ import annotations

from enum import StrEnum


class PackPeriod(StrEnum):
    ONCE = "once"  # one quantity from effective_time until invalid_time
    MONTHLY = "monthly"  # the quantity again every calendar month (UTC)
