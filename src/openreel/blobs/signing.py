"""HMAC-signed, time-limited file URLs. Minted anew on every task query, so they never go stale."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from openreel.clock import SYSTEM_CLOCK, Clock


class UrlSigner:
    def __init__(self, secret: bytes, ttl_seconds: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, key: str) -> str:
        expires = self.clock.now_s() + self.ttl_seconds
        sig = self.signature(key, expires)
        return f"{base_url.rstrip('/')}/files/{quote(key)}?exp={expires}&sig={sig}"

    def verify(self, key: str, expires: int, sig: str) -> bool:
        return hmac.compare_digest(self.signature(key, expires), sig)

    def expired(self, expires: int) -> bool:
        return expires < self.clock.now_s()
