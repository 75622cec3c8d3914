"""HMAC-signed, time-limited file URLs. Minted anew on every task query, so they never go stale."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote


class UrlSigner:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, key: str) -> str:
        expires = int(time.time()) + self.ttl_seconds
        sig = self.signature(key, expires)
        return f"{base_url.rstrip('/')}/files/{quote(key)}?exp={expires}&sig={sig}"

    def verify(self, key: str, expires: int, sig: str) -> bool:
        return hmac.compare_digest(self.signature(key, expires), sig)
