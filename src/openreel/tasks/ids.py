"""Task and result ids: long numeric strings like Kling's, ordered by creation time."""

from __future__ import annotations

import secrets

from openreel.clock import now_ms

# Kling's ids are 18-19 digit decimal strings; ms time in the high bits keeps them sortable.
_RANDOM_BITS = 22


def new_id() -> str:
    return str((now_ms() << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS))
