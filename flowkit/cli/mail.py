"""``flowkit mail``: deliver the email outbox over SMTP."""

from __future__ import annotations

import click

from flowkit.cli._group import main


@main.group()
def mail() -> None:
    """Deliver the email outbox."""


@mail.command("deliver")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Defaults to $DATABASE_URL, that of `flowkit run` here, or flowkit.db.")
@click.option("--smtp-url", envvar="SMTP_URL", default=None,
              help="Defaults to $SMTP_URL: smtp://user:password@host:587?starttls=1, "
                   "or smtps://...")
@click.option("--limit", default=100, show_default=True,
              help="Emails per transaction; batches follow each other until one is not full.")
def mail_deliver(database_url: str | None, smtp_url: str | None, limit: int) -> None:
    """Send the queued emails once (for cron) and print how many were sent."""
    from flowkit.clock import clock_from_env
    from flowkit.errors import SmtpUnavailableError, SmtpUrlError
    from flowkit.lms import mailer
    from flowkit.runtime import services
    from flowkit.store import database

    if not smtp_url:
        raise SmtpUrlError("", "it is not set (set SMTP_URL or pass --smtp-url)")
    url = mailer.parse_smtp_url(smtp_url)
    engine = database.create_engine(database_url or services.database_url())
    database.ensure_schema(engine, migrate=False)
    clock = clock_from_env()
    sent = 0
    try:
        while True:
            batch = mailer.deliver(engine, url, limit=limit, now=clock.now())
            sent += batch
            if batch < limit:
                break
    except SmtpUnavailableError as error:
        click.echo(f"sent {_emails(sent + error.sent)} through {url}")
        raise
    finally:
        engine.dispose()
    click.echo(f"sent {_emails(sent)} through {url}")


def _emails(n: int) -> str:
    return f"{n} email" if n == 1 else f"{n} emails"
