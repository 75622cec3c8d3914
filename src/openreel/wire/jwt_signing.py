"""Kling's AK/SK authentication, client side: an HS256 JWT minted from the access key and
signed with the secret key, refreshed before it expires. Used by the SDK and by the relay
engine (the server side, which verifies such tokens, is ``openreel.auth``)."""

from __future__ import annotations

import threading
import time

import jwt

__all__ = ["JwtSigner"]

# Kling's documented token: 30 minutes; a fresh one is minted 5 minutes before expiry.
TOKEN_SECONDS = 1800
REFRESH_MARGIN = 300


class JwtSigner:
    """Kling AK/SK: ``Authorization: Bearer <HS256 JWT>``, refreshed before it expires."""

    def __init__(self, access_key: str, secret_key: str, lifetime: int = TOKEN_SECONDS) -> None:
        self.access_key = access_key
        self._secret = secret_key
        self.lifetime = lifetime
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret key nor a token
        return f"JwtSigner(access_key={self.access_key!r})"

    def token(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        with self._lock:
            if now >= self._expires - min(REFRESH_MARGIN, self.lifetime / 2):
                issued = int(now)
                self._expires = issued + self.lifetime
                claims = {"iss": self.access_key, "exp": issued + self.lifetime, "nbf": issued - 5}
                self._token = jwt.encode(claims, self._secret, algorithm="HS256")
            return self._token
