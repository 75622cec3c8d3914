"""Settings read from the environment: comma-separated lists and the rules they must follow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from openreel.config import DEFAULT_CALLBACK_RETRY_SCHEDULE, Settings
from openreel.wire.webhook_signing import new_secret


def test_comma_separated_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENREEL_ALLOWED_NETWORKS", "192.168.1.0/24, 127.0.0.0/8,fd00::/8")
    monkeypatch.setenv("OPENREEL_CALLBACK_RETRY_SCHEDULE", "1, 2.5,60")
    settings = Settings()
    assert settings.allowed_networks == ["192.168.1.0/24", "127.0.0.0/8", "fd00::/8"]
    assert settings.callback_retry_schedule == [1.0, 2.5, 60.0]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENREEL_ALLOWED_NETWORKS", "OPENREEL_CALLBACK_RETRY_SCHEDULE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.allowed_networks == []
    assert settings.callback_retry_schedule == list(DEFAULT_CALLBACK_RETRY_SCHEDULE)
    assert settings.webhook_secret is None


def test_an_empty_schedule_means_no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENREEL_CALLBACK_RETRY_SCHEDULE", "")
    assert Settings().callback_retry_schedule == []


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("OPENREEL_ALLOWED_NETWORKS", "10.0.0.0/8,not-a-network", "'not-a-network' is not a CIDR"),
        ("OPENREEL_CALLBACK_RETRY_SCHEDULE", "5,-1", "delays must be >= 0"),
        ("OPENREEL_CALLBACK_RETRY_SCHEDULE", "5,soon", "valid number"),
        ("OPENREEL_WEBHOOK_SECRET", "hunter2", "starts with 'whsec_'"),
        ("OPENREEL_WEBHOOK_SECRET", "whsec_c2hvcnQ=", "at least 24 bytes"),
    ],
)
def test_bad_values_name_the_rule(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, rule: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=rule):
        Settings()


def test_a_webhook_secret_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = new_secret()
    monkeypatch.setenv("OPENREEL_WEBHOOK_SECRET", secret)
    assert Settings().webhook_secret == secret


def test_procrastinate_needs_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="OPENREEL_QUEUE=procrastinate needs PostgreSQL"):
        Settings(data_dir=tmp_path, queue="procrastinate")
    settings = Settings(queue="procrastinate", database_url="postgresql://u@db/openreel")
    assert settings.database_url == "postgresql+psycopg://u@db/openreel"


def test_scale_out_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENREEL_WORKER_ENGINES", "classic, diffusers")
    monkeypatch.setenv("OPENREEL_BLOBS", "s3://media/prod")
    settings = Settings()
    assert settings.worker_engines == ["classic", "diffusers"]
    assert settings.blobs == "s3://media/prod"
    for bad in ("media/prod", "s3://", "file:///tmp"):
        monkeypatch.setenv("OPENREEL_BLOBS", bad)
        with pytest.raises(ValidationError, match="OPENREEL_BLOBS"):
            Settings()


def test_presigned_urls_cannot_outlive_seven_days() -> None:
    assert Settings(blobs="s3://media", url_ttl_seconds=604800).url_ttl_seconds == 604800
    with pytest.raises(ValidationError, match="presigned S3 URLs last at most 604800 s"):
        Settings(blobs="s3://media", url_ttl_seconds=604801)
    assert Settings(url_ttl_seconds=10**7).url_ttl_seconds == 10**7  # local links: any


def test_overrides_are_validated_like_the_environment() -> None:
    settings = Settings()
    with pytest.raises(ValidationError, match="workers"):
        settings.with_overrides(workers=-3)
    with pytest.raises(ValidationError, match="needs PostgreSQL"):
        settings.with_overrides(queue="procrastinate")
    assert settings.with_overrides(port=9001, host=None).port == 9001
    assert settings.with_overrides(port=9001).host == settings.host


def test_the_config_file_is_read_when_settings_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('port = 9123\nroutes = {"*" = "classic", "mine" = "classic"}\n')
    monkeypatch.delenv("OPENREEL_PORT", raising=False)
    monkeypatch.setenv("OPENREEL_CONFIG", str(config))  # after openreel.config was imported
    settings = Settings()
    assert settings.port == 9123
    assert settings.routes["mine"] == "classic"


def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openreel", "serve", "--workers", "-3", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "openreel: OPENREEL_WORKERS: Input should be greater than or equal to 0"
    )
    assert "Traceback" not in result.stdout
