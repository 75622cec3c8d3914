"""The processes under test: openreel, the bare FastAPI baseline, the image host; and a
scratch PostgreSQL database for runs with ``--database-url``."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchlib import BENCH_DIR, BenchError, ChildServer, dir_size, free_port, python_argv


def openreel_server(data_dir: Path, log_dir: Path, database_url: str | None) -> ChildServer:
    """``openreel serve --workers 0 --no-auth``: tasks are stored, never rendered."""
    port = free_port()
    env = {"OPENREEL_WORKERS": "0"}
    if database_url:
        env["OPENREEL_DATABASE_URL"] = database_url
    argv = python_argv(
        "-m",
        "openreel",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        "0",
        "--no-auth",
    )
    return ChildServer("openreel", argv, port, log_dir / f"openreel-{port}.log", env)


def bare_server(log_dir: Path) -> ChildServer:
    port = free_port()
    argv = python_argv(str(BENCH_DIR / "bare_app.py"), "--port", str(port))
    return ChildServer("bare FastAPI", argv, port, log_dir / f"bare-{port}.log")


def image_host(image: Path, log_dir: Path) -> ChildServer:
    port = free_port()
    argv = python_argv(str(BENCH_DIR / "image_host.py"), "--port", str(port), "--file", str(image))
    return ChildServer("image host", argv, port, log_dir / f"image-host-{port}.log")


def post_json(url: str, body: bytes, timeout: float = 60.0) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def get_json(url: str, timeout: float = 60.0) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def create_task(server: ChildServer, body: bytes, path: str = "/v1/videos/image2video") -> str:
    """One create through the API (on ``path``); the bench stops if openreel refuses the body."""
    status, payload = post_json(f"{server.url}{path}", body)
    if status != 200 or payload.get("code") != 0:
        raise BenchError(f"{server.name} refused the benchmark body: {status} {payload}")
    return str(payload["data"]["task_id"])


# --- PostgreSQL -----------------------------------------------------------------------------


def _libpq_url(url: str) -> str:
    # SQLAlchemy spellings ("postgresql+psycopg://") -> what libpq accepts.
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """Create ``openreel_bench_<random>`` on the server of ``admin_url``; drop it after."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit("--database-url needs psycopg: pip install 'psycopg[binary]'") from exc
    admin = _libpq_url(admin_url)
    name = f"openreel_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(admin)._replace(path="/" + name))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@contextlib.contextmanager
def database_for(admin_url: str | None) -> Iterator[str | None]:
    """``None`` (openreel's SQLite file in its data dir) or a scratch PostgreSQL database."""
    if admin_url is None:
        yield None
        return
    with scratch_database(admin_url) as url:
        yield url


def storage_sizes(data_dir: Path, database_url: str | None) -> dict[str, int]:
    """Bytes on disk: the database (SQLite files incl. WAL, or pg_database_size) and blobs."""
    sizes = {"blobs_bytes": dir_size(data_dir / "blobs")}
    if database_url is None:
        files = sorted(data_dir.glob("openreel.db*"))
        sizes["db_bytes"] = sum(f.stat().st_size for f in files)
        sizes["db_main_file_bytes"] = (data_dir / "openreel.db").stat().st_size
        with contextlib.closing(
            sqlite3.connect(f"file:{data_dir / 'openreel.db'}?mode=ro", uri=True)
        ) as conn:
            sizes["task_rows"] = int(conn.execute("SELECT count(*) FROM tasks").fetchone()[0])
        return sizes
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(_libpq_url(database_url), autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
        sizes["db_bytes"] = int(row[0]) if row else 0
        row = conn.execute("SELECT pg_total_relation_size('tasks')").fetchone()
        sizes["tasks_table_bytes"] = int(row[0]) if row else 0
        row = conn.execute("SELECT count(*) FROM tasks").fetchone()
        sizes["task_rows"] = int(row[0]) if row else 0
    return sizes
