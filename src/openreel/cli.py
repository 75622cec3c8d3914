"""``openreel`` command line: run the server and manage API keys."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from openreel.client_cli import install as install_client_commands
from openreel.config import Settings
from openreel.store.pack_period import PackPeriod

if TYPE_CHECKING:
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
LogFormatOption = Annotated[
    str | None,
    typer.Option(
        "--log-format",
        help="plain (terminal lines) or json (one JSON object per line) "
        "[env OPENREEL_LOG_FORMAT, default plain]",
    ),
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
    log_format: LogFormatOption = None,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(help="Serve HTTPS with this certificate (PEM) [env OPENREEL_SSL_CERTFILE]"),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None,
        typer.Option(help="The certificate's private key (PEM) [env OPENREEL_SSL_KEYFILE]"),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-Proto/-Host/-For are trusted: addresses or CIDRs, "
            "comma-separated, * for any [env OPENREEL_FORWARDED_ALLOW_IPS, default none]"
        ),
    ] = None,
) -> None:
    """Run the API server with its in-process generation workers.

    Examples:
      openreel serve --port 8000 --data-dir ./data
      OPENREEL_QUEUE=procrastinate openreel serve --no-workers   # API node (docs/deploy.md)
      openreel serve --host 0.0.0.0 --port 443 --ssl-certfile cert.pem --ssl-keyfile key.pem
      openreel serve --forwarded-allow-ips 10.0.0.5 --log-format json   # behind a TLS proxy
    """
    import logging
    import logging.config

    import uvicorn

    from openreel.app import create_app
    from openreel.logs import json_config, plain_config

    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        workers=0 if no_workers else workers,
        auth=False if no_auth else None,
        log_format=log_format,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    _require_extras(settings, runs_jobs=settings.workers > 0)
    json_logs = settings.log_format == "json"
    if json_logs:  # now, for the lines below; uvicorn applies the same config again
        logging.config.dictConfig(json_config())
    if not settings.auth:
        if json_logs:
            logging.getLogger("openreel").warning(
                "authentication is OFF (--no-auth)", extra={"event": "auth.off"}
            )
        else:
            console.print("[yellow]openreel: authentication is OFF (--no-auth)[/yellow]")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # JSON: every logger through one formatter; openreel.access replaces uvicorn's.
        log_config=json_config() if json_logs else plain_config(),
        access_log=not json_logs,
        timeout_graceful_shutdown=10,
        # openreel.api.forwarded reads the proxy headers, from OPENREEL_FORWARDED_ALLOW_IPS
        # only (uvicorn's own trusts 127.0.0.1 by default).
        proxy_headers=False,
        ssl_certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
        ssl_keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
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
    log_format: LogFormatOption = None,
) -> None:
    """Render tasks from the shared queue (OPENREEL_QUEUE=procrastinate, PostgreSQL).

    Never serves HTTP nor sends callbacks. SIGTERM hands running tasks back to the queue.

    Example: openreel worker --engines classic --concurrency 2
    """
    import logging

    from openreel.logs import configure_worker_logging

    settings = _settings(
        data_dir=data_dir,
        workers=concurrency,
        worker_engines=[e.strip() for e in engines.split(",") if e.strip()] if engines else None,
        metrics_port=metrics_port,
        log_format=log_format,
    )
    configure_worker_logging(settings.log_format)
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

    def fail(exc: Exception, code: int) -> typer.Exit:
        if settings.log_format == "json":
            logging.getLogger("openreel.worker").error("%s", exc, extra={"event": "worker.exit"})
        else:
            console.print(f"[red]openreel worker: {exc}[/red]")
        return typer.Exit(code=code)

    try:
        asyncio.run(run_worker(settings))
    except WorkerStopped as exc:  # a failure at run time: exit 1, for the supervisor
        raise fail(exc, 1) from None
    except (RuntimeError, ValueError) as exc:  # the configuration
        raise fail(exc, 2) from None


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
    # The store (SQLAlchemy, Alembic) loads only for the keys commands: the client commands
    # start half a second sooner.
    from openreel.store.db import Database
    from openreel.store.keys import KeyRepository

    settings = _settings(data_dir=data_dir)
    _require_extras(settings, runs_jobs=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
    except BaseException:
        await db.dispose()  # e.g. an unreachable database: no connection left behind
        raise
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


@keys_app.command("quota")
def keys_quota(
    key: Annotated[str, typer.Argument(help="Key id, key prefix or access key")],
    units: Annotated[
        float | None, typer.Option("--units", help="Units in the pack (Kling's unit prices)")
    ] = None,
    period: Annotated[
        PackPeriod,
        typer.Option(
            "--period",
            help="once: one quantity until it runs out or expires; monthly: the quantity "
            "again every calendar month (UTC)",
        ),
    ] = PackPeriod.ONCE,
    days: Annotated[
        int, typer.Option("--days", min=1, help="How long a one-off pack stays valid")
    ] = 365,
    name: Annotated[str | None, typer.Option("--name", help="The pack's name")] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the key's pack: no quota from now on")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Give a key a resource pack (replacing its pack, if any): a create the pack cannot pay
    for is refused with HTTP 429 / code 1102. GET /account/costs reports it.

    Examples:
      openreel keys quota or_AbCdEf12 --units 100
      openreel keys quota or_AbCdEf12 --units 500 --period monthly
      openreel keys quota or_AbCdEf12 --remove
    """
    from decimal import Decimal, InvalidOperation

    from openreel.clock import now_ms
    from openreel.ids import new_id
    from openreel.tasks.prices import format_units, milli

    if remove == (units is not None):
        console.print("[red]give --units N, or --remove[/red]")
        raise typer.Exit(code=2)
    total = 0
    if units is not None:
        try:
            total = milli(Decimal(str(units)))
        except InvalidOperation:
            total = -1
        if total <= 0:
            console.print("[red]--units must be a number > 0[/red]")
            raise typer.Exit(code=2)
    label = name or f"openreel {format_units(total)} units" + (
        " monthly" if period == PackPeriod.MONTHLY else ""
    )

    from openreel.store.usage import UsageRepository

    async def run() -> str | None:
        db, _ = await _open_keys(data_dir)
        usage = UsageRepository(db)
        try:
            if remove:
                return await usage.remove_pack(key)
            now = now_ms()
            once = period == PackPeriod.ONCE
            return await usage.set_pack(
                key,
                pack_id=f"pack_{new_id()}",
                name=label,
                period=period,
                total_milli=total,
                now=now,
                invalid_time=now + days * 86_400_000 if once else None,
            )
        finally:
            await db.dispose()

    owner = asyncio.run(run())
    if owner is None:
        console.print(f"[red]no key matches {key!r}[/red]")
        raise typer.Exit(code=1)
    if remove:
        console.print(f"{key}: no resource pack (no quota)")
    elif period == PackPeriod.MONTHLY:
        console.print(f"{key}: pack '{label}', {format_units(total)} units every month (UTC)")
    else:
        console.print(f"{key}: pack '{label}', {format_units(total)} units for {days} days")


install_client_commands(app)


def main() -> None:
    app()
