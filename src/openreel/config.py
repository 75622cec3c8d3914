"""Settings: environment variables ``OPENREEL_*``, optionally an ``openreel.toml``.

Precedence: explicit arguments (CLI flags) > environment > ``openreel.toml`` > defaults.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from openreel.engines.diffusers.spec import ModelSpec
from openreel.engines.relay.config import RELAY_PREFIX, UpstreamConfig
from openreel.tasks.prices import ModelPrice

DEFAULT_ROUTES: dict[str, str] = {"*": "classic"}
S3_MAX_URL_TTL = 7 * 24 * 3600
# Seconds before each retry of a failed callback (the first attempt is immediate): the
# Standard Webhooks example (then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h), so
# 10 attempts over about 3.3 days.
DEFAULT_CALLBACK_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    # Inputs stay out of validation errors: relay_upstreams holds secrets.
    model_config = SettingsConfigDict(env_prefix="OPENREEL_", hide_input_in_errors=True)

    data_dir: Path = Field(default=Path("./data"), description="Where the database and files live")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        default=None, description="Base URL used in result links; default: the request's own"
    )
    auth: bool = Field(default=True, description="Require an API key or AK/SK JWT")
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies (addresses or CIDRs, comma-separated; * = any) whose "
        "X-Forwarded-Proto/-Host/-For are honoured; default: none",
    )
    ssl_certfile: Path | None = Field(
        default=None, description="TLS certificate (PEM, chain included) that serve answers with"
    )
    ssl_keyfile: Path | None = Field(default=None, description="Private key of ssl_certfile (PEM)")
    log_format: Literal["plain", "json"] = Field(
        default="plain",
        description="plain: uvicorn's terminal lines; json: one JSON object per line and event",
    )
    workers: int = Field(default=1, ge=0, description="In-process generation workers")
    lease_seconds: float = Field(default=30.0, gt=0, description="Worker lease on a running task")
    max_attempts: int = Field(default=3, ge=1, description="Runs of a task before it is failed")
    poll_interval: float = Field(default=0.5, gt=0, description="Idle worker's database poll")
    url_ttl_seconds: int = Field(default=86400, gt=0, description="Lifetime of a signed file URL")
    signing_secret: str | None = Field(
        default=None, description="HMAC key for file URLs; default: generated into data_dir"
    )
    jwt_leeway_seconds: int = Field(default=5, ge=0, description="Clock skew allowed on JWTs")
    fetch_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Total time allowed to fetch one image URL"
    )
    fetch_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Time allowed to connect to a user-supplied URL"
    )
    allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs that user URLs may reach although private (e.g. a LAN, or "
        "127.0.0.0/8 for local development); comma-separated",
    )
    callback_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [float(s) for s in DEFAULT_CALLBACK_RETRY_SCHEDULE],
        description="Seconds before each retry of a failed callback (the first attempt is "
        "immediate); comma-separated; empty: no retries",
    )
    callback_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Time a callback receiver has to answer"
    )
    callback_concurrency: int = Field(default=8, ge=1, description="Callbacks sent at once")
    webhook_secret: str | None = Field(
        default=None,
        description="Server-wide Standard Webhooks secret (whsec_...) for keys without their own",
    )
    diffusers_models: dict[str, ModelSpec] = Field(
        default_factory=dict,
        description="model_name -> the weights and pipeline adapter serving it (diffusers engine)",
    )
    routes: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ROUTES),
        description="model_name -> engine (classic, diffusers, relay:<upstream>); '*' is the "
        "fallback for known Kling models",
    )
    relay_upstreams: dict[str, UpstreamConfig] = Field(
        default_factory=dict,
        description="Upstream name -> Kling-wire API the relay engine forwards to (JSON): "
        "base_url, style kling|cometapi, api_key or access_key + secret_key, keys, "
        "max_concurrency, poll_interval",
    )
    prices: Annotated[dict[str, ModelPrice], NoDecode] = Field(
        default_factory=dict,
        description="model_name ('*': any other) -> units per second of video by mode and per "
        "image, merged over Kling's published prices; JSON inline or the path of a JSON file",
    )
    queue: Literal["local", "procrastinate"] = Field(
        default="local",
        description="local: in-process workers claim task rows (any database); "
        "procrastinate: tasks are Procrastinate jobs on PostgreSQL, run by 'openreel worker' "
        "processes (and by 'serve' unless --no-workers)",
    )
    worker_engines: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Engines a worker runs, one Procrastinate queue each (comma-separated); "
        "empty: every configured engine",
    )
    worker_heartbeat_seconds: float = Field(
        default=10.0, gt=0, description="How often a Procrastinate worker proves it is alive"
    )
    stalled_worker_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A Procrastinate worker silent this long is dead: its running jobs are "
        "retried on another worker",
    )
    max_body_bytes: int | None = Field(
        default=None,
        gt=0,
        description="Largest request body accepted (HTTP 413 past it); default: what the "
        "largest valid create needs, every image at 10 MB as base64 (about 127 MB)",
    )
    max_concurrent_decodes: int = Field(
        default=2,
        ge=1,
        description="Create requests whose inline images are checked at the same time (each "
        "holds its decoded bytes meanwhile); the others wait their turn",
    )
    max_queued: int = Field(
        default=0,
        ge=0,
        description="Tasks that may wait for a worker per engine; past it a create gets HTTP "
        "429 (code 1303) with Retry-After; 0: no limit",
    )
    max_queued_per_key: int = Field(
        default=0,
        ge=0,
        description="Tasks one API key may have waiting for a worker; 0: no limit",
    )
    retry_after_seconds: int = Field(
        default=10, ge=1, description="Retry-After of a create refused by the limits above"
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="openreel worker only: serve its Prometheus metrics on this port "
        "(API nodes serve theirs at /metrics)",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the worker's metrics port listens on"
    )
    blobs: str | None = Field(
        default=None,
        description="Where inputs and results are stored: s3://bucket/prefix, or none for "
        "data_dir/blobs",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 API endpoint of a non-AWS store (MinIO, Ceph RGW, R2...)"
    )
    s3_region: str | None = Field(default=None, description="S3 region; default: AWS config")
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto", description="S3 bucket addressing (path for most self-hosted stores)"
    )
    s3_multipart_threshold_mb: int = Field(
        default=64, ge=5, description="Files at least this large are uploaded in parts"
    )
    s3_multipart_chunk_mb: int = Field(
        default=16, ge=5, description="Part size of a multipart upload (S3's minimum is 5)"
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        # Users paste plain PostgreSQL URLs; PostgreSQL is used through async psycopg.
        # SQLite runs on the stdlib driver (see store.db); an aiosqlite URL means the same file.
        if value is None or value == "":
            return None
        for plain, driver in (
            ("postgresql://", "postgresql+psycopg://"),
            ("postgres://", "postgresql+psycopg://"),
            ("sqlite+aiosqlite:///", "sqlite:///"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        return value

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        networks = _comma_separated(value)
        for cidr in networks if isinstance(networks, list) else []:
            try:
                ipaddress.ip_network(str(cidr), strict=False)
            except ValueError as exc:
                raise ValueError(f"OPENREEL_ALLOWED_NETWORKS: {cidr!r} is not a CIDR") from exc
        return networks

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        entries = _comma_separated(value)
        for entry in entries if isinstance(entries, list) else []:
            if str(entry).strip() == "*":
                continue
            try:
                ipaddress.ip_network(str(entry), strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address, a CIDR or *") from exc
        return entries

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("--ssl-certfile and --ssl-keyfile go together: set both or neither")
        for name, path in (("ssl_certfile", self.ssl_certfile), ("ssl_keyfile", self.ssl_keyfile)):
            if path is not None and not path.is_file():
                raise ValueError(f"OPENREEL_{name.upper()}: {str(path)!r} is not a file")
        return self

    @field_validator("prices", mode="before")
    @classmethod
    def _prices_json(cls, value: Any) -> Any:
        # A TOML table arrives as a dict; the environment gives JSON or a file holding it.
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return {}
        if not text.startswith("{"):
            try:
                text = Path(text).read_text()
            except OSError as exc:
                raise ValueError(f"OPENREEL_PRICES: cannot read {value!r}: {exc}") from None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"OPENREEL_PRICES: not valid JSON ({exc})") from None

    @field_validator("worker_engines", mode="before")
    @classmethod
    def _engine_list(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("blobs")
    @classmethod
    def _blobs_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith("s3://") or not value[len("s3://") :].split("/", 1)[0]:
            raise ValueError(
                f"OPENREEL_BLOBS: {value!r} is not s3://bucket[/prefix] (leave it unset for "
                "the data directory)"
            )
        return value

    @model_validator(mode="after")
    def _queue_needs_postgres(self) -> Settings:
        if self.queue == "procrastinate" and self.is_sqlite:
            raise ValueError(
                "OPENREEL_QUEUE=procrastinate needs PostgreSQL: set OPENREEL_DATABASE_URL="
                "postgresql://... (SQLite works only with OPENREEL_QUEUE=local)"
            )
        return self

    @model_validator(mode="after")
    def _relay_routes(self) -> Settings:
        for model, engine in self.routes.items():
            name = engine.removeprefix(RELAY_PREFIX)
            if engine.startswith(RELAY_PREFIX) and name not in self.relay_upstreams:
                known = ", ".join(sorted(self.relay_upstreams)) or "none"
                raise ValueError(
                    f"OPENREEL_ROUTES: {model!r} -> {engine!r} names no upstream of "
                    f"OPENREEL_RELAY_UPSTREAMS (configured: {known})"
                )
        return self

    @model_validator(mode="after")
    def _presigned_lifetime(self) -> Settings:
        # SigV4 refuses presigned URLs that claim to last longer than 7 days.
        if self.blobs and self.url_ttl_seconds > S3_MAX_URL_TTL:
            raise ValueError(
                f"OPENREEL_URL_TTL_SECONDS: presigned S3 URLs last at most {S3_MAX_URL_TTL} s "
                f"(7 days); got {self.url_ttl_seconds}"
            )
        return self

    @field_validator("callback_retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("callback_retry_schedule")
    @classmethod
    def _non_negative(cls, value: list[float]) -> list[float]:
        if any(delay < 0 for delay in value):
            raise ValueError("OPENREEL_CALLBACK_RETRY_SCHEDULE delays must be >= 0 seconds")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if not value:
            return None
        from openreel.wire.webhook_signing import secret_bytes

        secret_bytes(value)  # raises ValueError naming the rule
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # OPENREEL_CONFIG is read each time settings are built, not when this module loads.
        toml_file = os.environ.get("OPENREEL_CONFIG", "openreel.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openreel.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        """These settings with ``changes`` (``None``: unchanged), validated like the rest
        (``ValidationError`` naming the field), e.g. for command-line flags."""
        values = self.model_dump()
        values.update({k: v for k, v in changes.items() if v is not None})
        return type(self).model_validate(values)
