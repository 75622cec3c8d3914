"""Where the client talks to and how it signs in, from arguments or the environment.

Targets, all by base URL:

- openreel: ``http://host:8000`` (paths under ``/v1``; ``.../kling/v1`` works too), API key.
- Kling: ``https://api-singapore.klingai.com`` (``/v1``), access key + secret key: requests
  carry a short-lived HS256 JWT, minted again before it expires.
- CometAPI: ``https://api.cometapi.com`` (``/kling/v1``, chosen from the host name), API key.

A base URL that already ends in ``/v1`` or ``/kling/v1`` keeps that prefix.
Environment: ``OPENREEL_BASE_URL``, ``OPENREEL_API_KEY``, ``KLING_ACCESS_KEY``,
``KLING_SECRET_KEY``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt

from openreel.sdk.errors import AuthenticationError

__all__ = ["ClientConfig", "JwtSigner", "resolve_config"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
KLING_PREFIX, COMET_PREFIX = "/v1", "/kling/v1"
# Kling's documented token: 30 minutes; a fresh one is minted 5 minutes before expiry.
_TOKEN_SECONDS = 1800
_REFRESH_MARGIN = 300


class JwtSigner:
    """Kling AK/SK: ``Authorization: Bearer <HS256 JWT>``, refreshed before it expires."""

    def __init__(self, access_key: str, secret_key: str, lifetime: int = _TOKEN_SECONDS) -> None:
        self.access_key = access_key
        self._secret = secret_key
        self.lifetime = lifetime
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def token(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        with self._lock:
            if now >= self._expires - min(_REFRESH_MARGIN, self.lifetime / 2):
                issued = int(now)
                self._expires = issued + self.lifetime
                claims = {"iss": self.access_key, "exp": issued + self.lifetime, "nbf": issued - 5}
                self._token = jwt.encode(claims, self._secret, algorithm="HS256")
            return self._token


@dataclass(frozen=True)
class ClientConfig:
    root: str  # scheme://host[:port][/base path], no trailing slash
    prefix: str  # "/v1" or "/kling/v1"
    api_key: str | None = None
    signer: JwtSigner | None = field(default=None, compare=False)

    @property
    def comet_style(self) -> bool:
        return self.prefix == COMET_PREFIX

    def url(self, path: str) -> str:
        return f"{self.root}{self.prefix}/{path.lstrip('/')}"

    def auth_header(self) -> dict[str, str]:
        if self.signer is not None:
            return {"Authorization": f"Bearer {self.signer.token()}"}
        if self.api_key:
            return {"Authorization": f"Bearer {self.api_key}"}
        return {}


def resolve_config(
    base_url: str | None = None,
    api_key: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    prefix: str | None = None,
) -> ClientConfig:
    """Arguments first, then the environment; see the module docstring."""
    base = (base_url or os.environ.get("OPENREEL_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    api_key = api_key or os.environ.get("OPENREEL_API_KEY") or None
    access_key = access_key or os.environ.get("KLING_ACCESS_KEY") or None
    secret_key = secret_key or os.environ.get("KLING_SECRET_KEY") or None
    if (access_key is None) != (secret_key is None):
        raise AuthenticationError("give both the access key and the secret key (AK/SK), or neither")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL, got {base!r}")
    root = base
    for known in (COMET_PREFIX, KLING_PREFIX):
        if base.endswith(known):
            root, prefix = base[: -len(known)], prefix or known
            break
    if prefix is None:
        prefix = COMET_PREFIX if "cometapi" in (parts.hostname or "") else KLING_PREFIX
    if prefix not in (KLING_PREFIX, COMET_PREFIX):
        raise ValueError(f"prefix must be {KLING_PREFIX!r} or {COMET_PREFIX!r}, got {prefix!r}")
    signer = JwtSigner(access_key, secret_key) if access_key and secret_key else None
    return ClientConfig(root=root, prefix=prefix, api_key=api_key, signer=signer)
