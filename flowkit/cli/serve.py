"""``flowkit serve`` (the HTTP front door) and ``flowkit keys`` (its API keys)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from flowkit.cli._group import main

if TYPE_CHECKING:
    import sqlalchemy as sa


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--demo", is_flag=True, envvar="FLOWKIT_SERVE_DEMO",
              help="Start with no key or secret configured: open to anyone, so on a "
                   "loopback address only.")
@click.option("--workers", default=1, show_default=True, help="Server processes.")
@click.option("--max-body-bytes", type=int, default=None,
              help="Largest request body (default 1 MiB; FLOWKIT_MAX_BODY_BYTES).")
@click.option("--max-batch", type=int, default=None,
              help="Most events in one request (default 1,000; FLOWKIT_MAX_BATCH).")
@click.option("--adapter", "adapters", multiple=True,
              help="A webhook adapter, package.module:attribute (FLOWKIT_WEBHOOK_ADAPTERS).")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Defaults to $DATABASE_URL, that of `flowkit run` here, or flowkit.db.")
def serve(host: str, port: int, demo: bool, workers: int, max_body_bytes: int | None,
          max_batch: int | None, adapters: tuple[str, ...], database_url: str | None
          ) -> None:
    """Take events over HTTP: POST /v1/events (API keys from FLOWKIT_API_KEYS or
    `flowkit keys`), POST /v1/webhooks/<adapter> (Standard Webhooks signatures,
    FLOWKIT_WEBHOOK_SECRETS), /healthz, /readyz, /metrics. Stateless: run as many as
    you like behind a load balancer."""
    import uvicorn

    from flowkit.runtime import services
    from flowkit.runtime.child import PARENT_ENV, die_with_parent
    from flowkit.serve.adapters import load
    from flowkit.serve.keys import live_key_count
    from flowkit.serve.settings import ServeSettings
    from flowkit.serve.webhooks import verifiers
    from flowkit.store import database

    if os.environ.get(PARENT_ENV):  # a child of `flowkit run`: go when it goes
        die_with_parent(int(os.environ[PARENT_ENV]))
    env = {"FLOWKIT_SERVE_DEMO": "1" if demo else "",
           "FLOWKIT_MAX_BODY_BYTES": max_body_bytes, "FLOWKIT_MAX_BATCH": max_batch,
           "FLOWKIT_WEBHOOK_ADAPTERS": " ".join(adapters) or None,
           "DATABASE_URL": database_url or services.database_url()}
    os.environ.update({k: str(v) for k, v in env.items() if v is not None})
    settings = ServeSettings.from_env()
    engine = database.create_engine(os.environ.get("DATABASE_URL"))
    try:
        database.ensure_schema(engine, migrate=engine.dialect.name == "sqlite")
        settings.check_can_start(host, live_key_count(engine))
    finally:
        engine.dispose()
    verifiers(settings.webhook_secrets)
    load(settings.adapters)
    mode = " in demo mode (open, loopback only)" if demo else ""
    click.echo(f"flowkit serve listening on http://{host}:{port}{mode}", err=True)
    uvicorn.run("flowkit.serve.main:app_from_env", factory=True, host=host, port=port,
                workers=workers, access_log=False, log_level="warning",
                timeout_graceful_shutdown=30)


@main.group()
def keys() -> None:
    """The events API's keys, stored hashed in the database (rotate: add, then revoke)."""


def _db(database_url: str | None) -> sa.Engine:
    from flowkit.runtime import services
    from flowkit.store import database

    engine = database.create_engine(database_url or services.database_url())
    database.ensure_schema(engine, migrate=engine.dialect.name == "sqlite")
    return engine


_DB_OPTION = click.option("--database-url", envvar="DATABASE_URL", default=None,
                          help="Defaults to $DATABASE_URL, that of `flowkit run` here, "
                               "or flowkit.db.")


@keys.command("add")
@click.argument("name")
@_DB_OPTION
def add(name: str, database_url: str | None) -> None:
    """Make a key named NAME and print it (the only time it is shown)."""
    from flowkit.serve.keys import add_key

    engine = _db(database_url)
    click.echo(add_key(engine, name))
    click.echo(f"API key {name!r} added; keep it now, only its hash is stored", err=True)


@keys.command("list")
@_DB_OPTION
def list_(database_url: str | None) -> None:
    """The stored keys: name, first characters, created, revoked."""
    from flowkit.serve.keys import list_keys

    engine = _db(database_url)
    for key in list_keys(engine):
        revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        click.echo(f"{key.name:<24} {key.prefix}…  created {key.created_at:%Y-%m-%d %H:%M}"
                   f"  {revoked}")


@keys.command("revoke")
@click.argument("name")
@_DB_OPTION
def revoke(name: str, database_url: str | None) -> None:
    """Revoke the key named NAME (servers refuse it within 5 seconds)."""
    from flowkit.serve.keys import revoke_key

    engine = _db(database_url)
    revoke_key(engine, name)
    click.echo(f"API key {name!r} revoked")
