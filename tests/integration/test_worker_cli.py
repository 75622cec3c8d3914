"""``openreel worker`` refuses what it cannot run, with a message saying why."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from openreel.cli import app
from openreel.queue.procrastinate import conninfo

pytestmark = pytest.mark.db


def test_worker_needs_the_procrastinate_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENREEL_QUEUE", raising=False)
    result = CliRunner().invoke(app, ["worker", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "openreel worker needs OPENREEL_QUEUE=procrastinate" in result.output


def test_worker_refuses_unknown_engines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None
) -> None:
    if database_url is None:
        pytest.skip("Procrastinate needs PostgreSQL")
    monkeypatch.setenv("OPENREEL_QUEUE", "procrastinate")
    monkeypatch.setenv("OPENREEL_DATABASE_URL", database_url)
    result = CliRunner().invoke(
        app, ["worker", "--engines", "classic,nope", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--engines: nope not configured here; known: classic" in result.output
    # The refused start-up closed the connections it had opened (migrations ran first).
    with psycopg.connect(conninfo(database_url)) as conn:
        others = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert others == (0,)


def test_worker_concurrency_must_be_positive(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["worker", "--concurrency", "0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--concurrency must be at least 1" in result.output
