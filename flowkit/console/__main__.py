"""``python -m flowkit.console``: the console alone, on uvicorn.

    FLOWKIT_CONSOLE_PASSWORD=... python -m flowkit.console --port 8001
    python -m flowkit.console --demo          # no password, loopback only

It serves the database at ``DATABASE_URL`` (or ``--database-url``) and the flows of the
working directory's ``automations/`` and ``tracks/``.
"""

from __future__ import annotations

import sys

import attrs
import click

from flowkit.console.app import create_app
from flowkit.console.settings import ConsoleSettings


@click.command()
@click.option("--database-url", envvar="DATABASE_URL", default=None)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
@click.option("--demo", is_flag=True, help="Open without a password, to loopback only.")
@click.option("--flows", "sources", multiple=True,
              help="Flows to show (module, file or folder); default automations/, tracks/.")
def main(database_url: str | None, host: str, port: int, demo: bool,
         sources: tuple[str, ...]) -> None:
    """Serve the flowkit console."""
    import uvicorn

    from flowkit.store import database

    settings = ConsoleSettings.from_env(flows=list(sources) or None)
    if demo:
        settings = attrs.evolve(settings, demo=True)
    if settings.closed and not settings.demo:
        click.echo("flowkit console: no password is set: set FLOWKIT_CONSOLE_PASSWORD "
                   "(operators) or FLOWKIT_CONSOLE_READONLY_PASSWORD (read-only), or pass "
                   "--demo to open it to this machine only", err=True)
        sys.exit(2)
    app = create_app(database.database_url(database_url), settings)
    click.echo(f"flowkit console: http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="warning")


if __name__ == "__main__":
    main()
