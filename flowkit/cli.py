"""The ``flowkit`` command.

User mistakes (a flow that does not compile, an unknown module, a bad event) exit with
status 1 and a one-line cause on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from flowkit.errors import FlowkitError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FlowkitError as error:
            click.secho(f"error: {error}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="flowkit")
def main() -> None:
    """flowkit: user automations as code."""


@main.command("compile")
@click.argument("sources", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the step machines as JSON.")
def compile_command(sources: tuple[str, ...], as_json: bool) -> None:
    """Compile flows and print their steps with ids.

    SOURCES are module names, .py files or folders (default: automations/ and tracks/).
    """
    from flowkit.runtime.discovery import load_flows

    flows = load_flows(list(sources) or None)
    if as_json:
        click.echo(json.dumps([f.ir.to_dict() for f in flows], indent=2, ensure_ascii=False))
        return
    if not flows:
        click.echo("no flows found")
        return
    for flow in flows:
        click.echo(f"{flow.kind} {flow.name}  (version {flow.version}, {flow.module})")
        for trigger in flow.triggers:
            where = " where ..." if trigger.where else ""
            click.echo(f"  on {trigger.event}{where}")
        for exit_ in flow.event_exits:
            click.echo(f"  exit when {exit_.describe()}")
        for state_exit in flow.state_exits:
            click.echo(f"  exit when {state_exit.label}(run)")
        for step in flow.ir.steps:
            click.echo(f"  {step.line:>4}  {step.kind:<9} {step.id:<32} {step.call}")
        click.echo()


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@main.command()
@click.argument("event")
@click.argument("fields", nargs=-1)
@click.option("--user", "-u", required=True, help="The id of the user the event is about.")
@click.option("--key", default=None, help="Idempotency key: an event seen before is dropped.")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Defaults to $DATABASE_URL, else sqlite:///flowkit.db.")
def emit(event: str, fields: tuple[str, ...], user: str, key: str | None,
         database_url: str | None) -> None:
    """Emit EVENT for a user, with payload FIELDS as key=value (values read as JSON
    when they parse: course=python-101 units=3 paid=true)."""
    from flowkit.errors import EventError
    from flowkit.runtime.engine import Engine

    payload: dict[str, Any] = {}
    for field in fields:
        name, sep, value = field.partition("=")
        if not sep or not name:
            raise EventError(f"payload fields are key=value, got {field!r}")
        payload[name] = _value(value)
    with Engine(database_url) as engine:
        result = engine.emit(event, user, idempotency_key=key, **payload)
    if result.duplicate:
        click.echo(f"{event} for {user}: duplicate of an earlier event (key {result.key}), "
                   "dropped")
    else:
        click.echo(f"{event} for {user}: recorded and routed (key {result.key})")


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Defaults to $DATABASE_URL, else sqlite:///flowkit.db.")
def upgrade(database_url: str | None) -> None:
    """Apply the schema migrations."""
    from flowkit.store import database

    engine = database.create_engine(database_url)
    database.upgrade(engine)
    click.echo(f"database at {engine.url.render_as_string()} is at revision "
               f"{database.current_revision(engine)}")
    engine.dispose()


@main.command()
@click.option("--users", default=6, show_default=True, help="How many users to simulate.")
@click.option("--days", default=10, show_default=True, help="How many days to simulate.")
def demo(users: int, days: int) -> None:
    """Compile the example automations and simulate them on a virtual clock."""
    from flowkit.demo import run_demo

    run_demo(users=users, days=days, echo=click.echo)
