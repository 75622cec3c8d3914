"""``openreel`` command line: run the server and manage API keys."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from openreel.client_cli import install as install_client_commands
from openreel.config import Settings
from openreel.store.db import Database
from openreel.store.keys import KeyRepository

app = typer.Typer(
    help="openreel: a self-hosted Kling-compatible image/video generation server.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Manage API keys (stored hashed) and their AK/SK pairs.")
app.add_typer(keys_app, name="keys", rich_help_panel="Server")
console = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Database and files [env OPENREEL_DATA_DIR]")
]


@app.command(rich_help_panel="Server")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default 8000]")] = None,
    data_dir: DataDir = None,
    workers: Annotated[int | None, typer.Option(help="Generation workers [default 1]")] = None,
    no_workers: Annotated[
        bool,
        typer.Option(
            "--no-workers",
            help="API only: run no generation here (scale-out: 'openreel worker' runs them)",
        ),
    ] = False,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept requests without a key (local use only)")
    ] = False,
) -> None:
    """Run the API server with its in-process generation workers.

    Examples:
      openreel serve --port 8000 --data-dir ./data
      OPENREEL_QUEUE=procrastinate openreel serve --no-workers   # API node (docs/deploy.md)
    """
    import uvicorn

    from openreel.app import create_app

    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        workers=0 if no_workers else workers,
        auth=False if no_auth else None,
    )
    _require_extras(settings, runs_jobs=settings.workers > 0)
    if not settings.auth:
        console.print("[yellow]openreel: authentication is OFF (--no-auth)[/yellow]")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


@app.command(rich_help_panel="Server")
def worker(
    engines: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated engines to run, one queue each [default: all configured]"
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at once [default OPENREEL_WORKERS, 1]")
    ] = None,
    data_dir: DataDir = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics on this port [env OPENREEL_METRICS_PORT]"),
    ] = None,
) -> None:
    """Render tasks from the shared queue (OPENREEL_QUEUE=procrastinate, PostgreSQL).

    Never serves HTTP nor sends callbacks. SIGTERM hands running tasks back to the queue.

    Example: openreel worker --engines classic --concurrency 2
    """
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = _settings(
        data_dir=data_dir,
        workers=concurrency,
        worker_engines=[e.strip() for e in engines.split(",") if e.strip()] if engines else None,
        metrics_port=metrics_port,
    )
    if settings.workers < 1:
        console.print("[red]--concurrency must be at least 1[/red]")
        raise typer.Exit(code=2)
    if settings.queue != "procrastinate":
        typer.echo(
            "openreel worker needs OPENREEL_QUEUE=procrastinate (and PostgreSQL); with the "
            "local queue, 'openreel serve' runs the workers itself",
            err=True,
        )
        raise typer.Exit(code=2)
    _require_extras(settings, runs_jobs=True)
    from openreel.queue.jobs import WorkerStopped
    from openreel.worker import run_worker

    try:
        asyncio.run(run_worker(settings))
    except WorkerStopped as exc:  # a failure at run time: exit 1, for the supervisor
        console.print(f"[red]openreel worker: {exc}[/red]")
        raise typer.Exit(code=1) from None
    except (RuntimeError, ValueError) as exc:  # the configuration
        console.print(f"[red]openreel worker: {exc}[/red]")
        raise typer.Exit(code=2) from None


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, openreel.toml and the flags; a bad value is one line per
    field on stderr and exit 2, never a traceback."""
    from pydantic import ValidationError

    try:
        return Settings().with_overrides(**overrides)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = "_".join(str(part) for part in error["loc"][:1]).upper()
            where = f"OPENREEL_{field}: " if field else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            inner = ".".join(str(part) for part in error["loc"][1:])
            message = f"{inner}: {message}" if inner else message
            typer.echo(f"openreel: {where}{message}", err=True)
        raise typer.Exit(code=2) from None


def _require_extras(settings: Settings, *, runs_jobs: bool) -> None:
    """A missing optional package: one plain line on stderr (never wrapped), exit 2."""
    from openreel.extras import missing_extras

    missing = missing_extras(settings, runs_jobs=runs_jobs)
    if missing:
        typer.echo(f"openreel: {missing[0]}", err=True)
        raise typer.Exit(code=2)


async def _open_keys(data_dir: Path | None) -> tuple[Database, KeyRepository]:
    settings = _settings(data_dir=data_dir)
    _require_extras(settings, runs_jobs=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    await db.migrate()
    return db, KeyRepository(db)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key")] = "default",
    data_dir: DataDir = None,
) -> None:
    """Create a key; the API key and secret key are printed once and never again.

    Example: openreel keys create --name ci
    """
    from openreel.auth.keys import issue_key

    async def run() -> None:
        db, repo = await _open_keys(data_dir)
        try:
            issued = await issue_key(repo, name)
        finally:
            await db.dispose()
        console.print(f"id:          {issued.id}")
        console.print(f"API key:     {issued.api_key}")
        console.print(f"access key:  {issued.access_key}")
        console.print(f"secret key:  {issued.secret_key}")

    asyncio.run(run())


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List keys (never their secrets).

    Example: openreel keys list
    """
    from datetime import UTC, datetime

    async def run() -> None:
        db, repo = await _open_keys(data_dir)
        try:
            rows = await repo.list()
        finally:
            await db.dispose()
        table = Table("id", "name", "key prefix", "access key", "created", "status", "callbacks")
        for row in rows:
            created = datetime.fromtimestamp(row.created_at / 1000, UTC).strftime("%Y-%m-%d %H:%M")
            status = "revoked" if row.revoked_at else "active"
            signing = (
                "signed, rotating"
                if row.webhook_secret_previous
                else "signed"
                if row.webhook_secret
                else "server secret or unsigned"
            )
            table.add_row(
                row.id, row.name, row.key_prefix + "...", row.access_key, created, status, signing
            )
        console.print(table)

    asyncio.run(run())


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="Key id, key prefix or access key")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: requests with it (or JWTs signed with its SK) get 1002 from now on.

    Example: openreel keys revoke or_AbCdEf12
    """

    async def run() -> bool:
        db, repo = await _open_keys(data_dir)
        try:
            return await repo.revoke(key) is not None
        finally:
            await db.dispose()

    if not asyncio.run(run()):
        console.print(f"[red]no key matches {key!r}[/red]")
        raise typer.Exit(code=1)
    console.print(f"revoked {key}")


@keys_app.command("webhook-secret")
def keys_webhook_secret(
    key: Annotated[str, typer.Argument(help="Key id, key prefix or access key")],
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Keep signing with the current secret as well (two signatures per callback) "
            "until --end-rotation, so receivers can switch without missing a callback",
        ),
    ] = False,
    secret: Annotated[
        str | None, typer.Option("--secret", help="Use this whsec_ secret instead of a new one")
    ] = None,
    end_rotation: Annotated[
        bool, typer.Option("--end-rotation", help="Stop signing with the previous secret")
    ] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the key's secrets (server secret or none)")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Set or rotate the Standard Webhooks secret that signs this key's task callbacks.

    The new secret is printed once. Without a key secret, callbacks are signed with
    OPENREEL_WEBHOOK_SECRET if the server has one, else sent unsigned.

    Examples:
      openreel keys webhook-secret or_AbCdEf12
      openreel keys webhook-secret or_AbCdEf12 --rotate
      openreel keys webhook-secret or_AbCdEf12 --end-rotation
    """
    from openreel.wire.webhook_signing import new_secret, secret_bytes

    if sum((end_rotation, remove, rotate or secret is not None)) > 1:
        console.print(
            "[red]choose one of: a new secret (--rotate/--secret), --end-rotation, --remove[/red]"
        )
        raise typer.Exit(code=2)
    if secret is not None:
        try:
            secret_bytes(secret)
        except ValueError as exc:
            console.print(f"[red]--secret: {exc}[/red]")
            raise typer.Exit(code=2) from None
    chosen = None if (end_rotation or remove) else (secret or new_secret())

    async def run() -> bool:
        db, repo = await _open_keys(data_dir)
        try:
            if end_rotation:
                return await repo.end_rotation(key) is not None
            row = await repo.set_webhook_secret(key, chosen, keep_previous=rotate)
            return row is not None
        finally:
            await db.dispose()

    if not asyncio.run(run()):
        console.print(f"[red]no key matches {key!r}[/red]")
        raise typer.Exit(code=1)
    if end_rotation:
        console.print(f"{key}: callbacks are now signed with the current secret only")
    elif remove:
        console.print(f"{key}: the key's webhook secrets were removed")
    else:
        console.print(f"webhook secret: {chosen}")
        if rotate:
            console.print("the previous secret keeps signing until --end-rotation")


install_client_commands(app)


def main() -> None:
    app()
