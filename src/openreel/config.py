"""Settings: environment variables ``OPENREEL_*``, optionally an ``openreel.toml``.

Precedence: explicit arguments (CLI flags) > environment > ``openreel.toml`` > defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_ROUTES: dict[str, str] = {"*": "classic"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPENREEL_", toml_file=os.environ.get("OPENREEL_CONFIG", "openreel.toml")
    )

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
    workers: int = Field(default=1, ge=0, description="In-process generation workers")
    lease_seconds: float = Field(default=30.0, gt=0, description="Worker lease on a running task")
    max_attempts: int = Field(default=3, ge=1, description="Runs of a task before it is failed")
    poll_interval: float = Field(default=0.5, gt=0, description="Idle worker's database poll")
    url_ttl_seconds: int = Field(default=86400, gt=0, description="Lifetime of a signed file URL")
    signing_secret: str | None = Field(
        default=None, description="HMAC key for file URLs; default: generated into data_dir"
    )
    jwt_leeway_seconds: int = Field(default=5, ge=0, description="Clock skew allowed on JWTs")
    fetch_timeout_seconds: float = Field(default=20.0, gt=0)
    routes: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ROUTES),
        description="model_name -> engine; '*' is the fallback for known Kling models",
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openreel.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        return self.model_copy(update={k: v for k, v in changes.items() if v is not None})
