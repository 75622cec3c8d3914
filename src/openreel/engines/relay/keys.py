"""The key pool of one upstream: spreads tasks over healthy keys, skips rate-limited ones.

Shared by every render thread of the process, hence the lock. A key that upstream refused
(auth or account failure) is unhealthy until restart; a rate-limited one rests until its
Retry-After passes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from openreel.engines.relay.config import UpstreamKey

__all__ = ["KeyPool", "NoHealthyKey"]


class NoHealthyKey(Exception):
    pass


class KeyPool:
    def __init__(self, keys: Sequence[UpstreamKey]) -> None:
        self._keys = list(keys)
        self._lock = threading.Lock()
        self._in_use = {key.fingerprint: 0 for key in self._keys}
        self._resting_until = {key.fingerprint: 0.0 for key in self._keys}
        self._unhealthy: set[str] = set()

    def by_fingerprint(self, fingerprint: str | None) -> UpstreamKey | None:
        return next((k for k in self._keys if k.fingerprint == fingerprint), None)

    def pick(self, now: float | None = None) -> tuple[UpstreamKey | None, float]:
        """The least-used healthy key that is not resting, or (None, seconds to wait).
        ``NoHealthyKey`` when upstream refused every key."""
        ready, wait = self.ready(now)
        return (ready[0], 0.0) if ready else (None, wait)

    def ready(self, now: float | None = None) -> tuple[list[UpstreamKey], float]:
        """The healthy keys that are not resting, least used here first, or ([], seconds to
        wait). ``NoHealthyKey`` when upstream refused every key."""
        now = time.monotonic() if now is None else now
        with self._lock:
            healthy = [k for k in self._keys if k.fingerprint not in self._unhealthy]
            if not healthy:
                raise NoHealthyKey()
            ready = [k for k in healthy if self._resting_until[k.fingerprint] <= now]
            if not ready:
                return [], min(self._resting_until[k.fingerprint] for k in healthy) - now
            return sorted(ready, key=lambda k: self._in_use[k.fingerprint]), 0.0

    def hold(self, key: UpstreamKey) -> None:
        with self._lock:
            self._in_use[key.fingerprint] += 1

    def release(self, key: UpstreamKey) -> None:
        with self._lock:
            self._in_use[key.fingerprint] = max(0, self._in_use[key.fingerprint] - 1)

    def rest(self, key: UpstreamKey, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            self._resting_until[key.fingerprint] = max(self._resting_until[key.fingerprint], until)

    def mark_unhealthy(self, key: UpstreamKey) -> None:
        with self._lock:
            self._unhealthy.add(key.fingerprint)

    def is_healthy(self, key: UpstreamKey) -> bool:
        with self._lock:
            return key.fingerprint not in self._unhealthy
