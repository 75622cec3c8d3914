"""Wall-clock time: epoch milliseconds (the unit of every timestamp on the wire) and seconds
(URL expiry). Handlers read the ``Clock`` the services were built with, so tests can move
time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def now_s(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def now_s(self) -> int:
        return int(time.time())


SYSTEM_CLOCK: Clock = SystemClock()


def now_ms() -> int:
    return SYSTEM_CLOCK.now_ms()
