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
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from openreel.sdk.errors import AuthenticationError
from openreel.wire.jwt_signing import JwtSigner

__all__ = ["ClientConfig", "JwtSigner", "resolve_config"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
KLING_PREFIX, COMET_PREFIX = "/v1", "/kling/v1"


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
