"""``flowkit db`` and ``flowkit status``: the schema and what the database holds."""

from __future__ import annotations

import click

from flowkit.cli._group import main


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Defaults to $DATABASE_URL, else sqlite:///flowkit.db.")
def upgrade(database_url: str | None) -> None:
    """Apply the schema migrations."""
    from flowkit.runtime.services import redact_url
    from flowkit.store import database

    engine = database.create_engine(database_url)
    database.upgrade(engine)
    click.echo(f"database at {redact_url(engine.url)} is at revision "
               f"{database.current_revision(engine)}")
    engine.dispose()


@main.command()
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Defaults to $DATABASE_URL, that of `flowkit run` here, or flowkit.db.")
def status(database_url: str | None) -> None:
    """Runs by flow and status, timers, events waiting to be routed, queue depth."""
    from flowkit.clock import clock_from_env
    from flowkit.runtime import services
    from flowkit.store import Store, database

    engine = database.create_engine(database_url or services.database_url())
    database.ensure_schema(engine, migrate=False)
    store = Store(engine)
    now = clock_from_env().now()
    with database.reading(engine) as conn:
        counts = store.run_counts(conn)
        timers = store.count_timers(conn)
        due, oldest = store.due_count(conn, now)
        nxt = store.next_due(conn)
        unrouted = store.unrouted_count(conn)
    engine.dispose()
    click.echo("runs:")
    if not counts:
        click.echo("  none")
    from flowkit.runtime.discovery import flow_names

    known = flow_names()
    for (flow, run_status), n in sorted(counts.items()):
        gone = "" if known is None or flow in known \
            or run_status not in ("waiting", "running", "parked") \
            else f"  (flow gone from the code: `flowkit runs end --flow {flow} --reason ...`)"
        click.echo(f"  {flow:<24} {run_status:<10} {n}{gone}")
    late = f", oldest due since {oldest:%Y-%m-%d %H:%M:%S}" if oldest else ""
    click.echo(f"timers: {timers} ({due} due now{late}; next {nxt or 'none'})")
    click.echo(f"events waiting to be routed: {unrouted}")
    redis_url = services.redis_url()
    if redis_url:
        import redis

        from flowkit.runtime.faults import transient
        from flowkit.runtime.worker import ROUTE_QUEUE, TIMERS_QUEUE

        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        try:
            depth = {q: client.llen(f"dramatiq:{q}") for q in (ROUTE_QUEUE, TIMERS_QUEUE)}
        except Exception as error:
            problem = transient(error)
            if problem is None:
                raise
            click.echo(f"queued messages: unknown, {services.redact_url(problem)}")
        else:
            click.echo("queued messages: " + ", ".join(f"{q} {n}" for q, n in depth.items()))
    else:
        click.echo("queued messages: no Redis (set REDIS_URL, or start `flowkit run`)")
