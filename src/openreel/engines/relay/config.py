"""One relay upstream as configured (``OPENREEL_RELAY_UPSTREAMS`` / ``relay_upstreams``).

Secrets are ``SecretStr``: they never show in a repr, a validation error or a log line.
"""

from __future__ import annotations

import hashlib
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = ["RELAY_PREFIX", "UpstreamConfig", "UpstreamKey"]

# A route ``relay:<name>`` sends a model to the upstream ``<name>``.
RELAY_PREFIX = "relay:"


def _check_key(api_key: SecretStr | None, access_key: str | None, secret: SecretStr | None) -> None:
    pair = access_key is not None or secret is not None
    if api_key is not None and pair:
        raise ValueError("give api_key or access_key + secret_key, not both")
    if pair and not (access_key and secret and secret.get_secret_value()):
        raise ValueError("access_key and secret_key go together")
    if api_key is None and not pair:
        raise ValueError("a key needs api_key or access_key + secret_key")


class UpstreamKey(BaseModel):
    """A bearer API key, or a Kling access key + secret key pair (AK/SK JWT)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    api_key: SecretStr | None = None
    access_key: str | None = None
    secret_key: SecretStr | None = None
    max_concurrency: int | None = Field(
        default=None, ge=1, description="Upstream tasks in flight on this key at once"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> UpstreamKey:
        _check_key(self.api_key, self.access_key, self.secret_key)
        return self

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible name for this key (stored with a relayed task so a retry
        after a crash asks upstream with the key that owns the upstream task)."""
        material = self.access_key or (self.api_key.get_secret_value() if self.api_key else "")
        return hashlib.sha256(material.encode()).hexdigest()[:16]


class UpstreamConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    base_url: str = Field(description="scheme://host[:port] of the upstream, without /v1")
    style: Literal["kling", "cometapi"] = Field(
        description="kling: paths under /v1; cometapi: paths under /kling/v1"
    )
    api_key: SecretStr | None = None
    access_key: str | None = None
    secret_key: SecretStr | None = None
    keys: list[UpstreamKey] = Field(default_factory=list, description="A pool of further keys")
    max_concurrency: int = Field(
        default=4, ge=1, description="Upstream tasks in flight at once, over every worker"
    )
    max_concurrency_per_key: int | None = Field(
        default=None, ge=1, description="The bound of each key that sets no max_concurrency"
    )
    poll_interval: float = Field(default=5.0, gt=0, description="Seconds between polls at first")
    max_poll_interval: float = Field(default=60.0, gt=0, description="Longest wait between polls")
    request_timeout: float = Field(default=30.0, gt=0, description="Seconds per upstream call")
    max_result_mb: int = Field(default=2048, ge=1, description="Largest result file copied")
    forward_cancel: bool = Field(
        default=False,
        description="Forward cancels as POST <task path>/cancel (openreel upstreams serve it; "
        "Kling and CometAPI document no cancel)",
    )

    callback_base_url: str | None = Field(
        default=None,
        description="openreel's own address as the upstream reaches it: creates then carry a "
        "signed callback_url under it; None (the default): polling alone",
    )

    @field_validator("base_url", "callback_base_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{info.field_name} {value!r} is not an http(s) URL")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError(f"{info.field_name} must not carry credentials, a query or a fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _some_key(self) -> UpstreamConfig:
        if self.api_key is not None or self.access_key is not None or self.secret_key is not None:
            _check_key(self.api_key, self.access_key, self.secret_key)
        elif not self.keys:
            raise ValueError("needs api_key, access_key + secret_key, or keys")
        return self

    @property
    def pool(self) -> list[UpstreamKey]:
        """Every key, the top-level one first."""
        first = (
            [
                UpstreamKey(
                    api_key=self.api_key, access_key=self.access_key, secret_key=self.secret_key
                )
            ]
            if self.api_key is not None or self.access_key is not None
            else []
        )
        return first + list(self.keys)

    def key_limit(self, key: UpstreamKey) -> int | None:
        return key.max_concurrency or self.max_concurrency_per_key

    @property
    def prefix(self) -> str:
        return "/kling/v1" if self.style == "cometapi" else "/v1"
