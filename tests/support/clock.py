"""A clock the test moves by hand (``openreel.clock.Clock``): pass it to ``create_app``
(``api_factory(clock=...)``) or ``UrlSigner`` and advance it instead of sleeping."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ManualClock:
    """Starts at a fixed instant (2026-01-01T00:00:00Z) unless told otherwise."""

    ms: int = 1_767_225_600_000

    def now_ms(self) -> int:
        return self.ms

    def now_s(self) -> int:
        return self.ms // 1000

    def advance(self, seconds: float) -> None:
        self.ms += round(seconds * 1000)
