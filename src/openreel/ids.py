"""Task and result ids: long numeric strings like Kling's, ordered by creation time.

Snowflake layout in 63 bits: milliseconds since the Unix epoch (41 bits, good until 2039 and
then still unique, just longer), a random per-process node id (10 bits) and a per-process
sequence within the millisecond (12 bits). Ids from one process never collide; two
processes collide only if they drew the same node id and mint in the same millisecond with
the same sequence number, and the insert of a colliding id is retried (tasks.service).
"""

from __future__ import annotations

import secrets
import threading
import time

from openreel.clock import now_ms

_NODE_BITS = 10
_SEQUENCE_BITS = 12
_MAX_SEQUENCE = (1 << _SEQUENCE_BITS) - 1

_node = secrets.randbits(_NODE_BITS)
_lock = threading.Lock()
_last_ms = 0
_sequence = 0


def new_id() -> str:
    global _last_ms, _sequence
    with _lock:
        ms = now_ms()
        if ms < _last_ms:  # the wall clock stepped back: keep counting from the last ms
            ms = _last_ms
        if ms == _last_ms:
            _sequence += 1
            if _sequence > _MAX_SEQUENCE:
                while ms <= _last_ms:
                    time.sleep(0.0001)
                    ms = now_ms()
                _sequence = 0
        else:
            _sequence = 0
        _last_ms = ms
        return str((ms << (_NODE_BITS + _SEQUENCE_BITS)) | (_node << _SEQUENCE_BITS) | _sequence)
