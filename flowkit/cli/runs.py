"""``flowkit runs`` and ``flowkit inspect``: look at runs and repair them."""

from __future__ import annotations

from typing import Any

import click

from flowkit.cli._group import main


@main.group()
def runs() -> None:
    """Act on runs."""


@runs.command()
@click.argument("run_id")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def retry(run_id: str, database_url: str | None) -> None:
    """Run again the step a parked or failed run stopped at, with the same key."""
    from flowkit.runtime import services
    from flowkit.runtime.engine import Engine

    with Engine(database_url or services.database_url()) as engine:
        engine.retry(run_id)
        (record,) = [r for r in engine.runs() if r.id == run_id]
    click.echo(f"run {run_id} retried: now {record.status} at {record.step}")


@main.group()
def inspect() -> None:
    """Every run of a user, or one run: where it is, why, and its history."""


def _inspect_engine(database_url: str | None) -> Any:
    from flowkit.runtime import services
    from flowkit.runtime.engine import Engine

    return Engine(database_url or services.database_url())


@inspect.command("user")
@click.argument("user_id")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def inspect_user(user_id: str, as_json: bool, database_url: str | None) -> None:
    """Every run of USER_ID, with its history."""
    from rich.console import Console

    from flowkit.review.inspect import as_json as to_json
    from flowkit.review.inspect import render

    with _inspect_engine(database_url) as engine:
        found = engine.runs(user=user_id)
    if as_json:
        click.echo(to_json(found))
    elif not found:
        click.echo(f"user {user_id!r} has no runs")
    else:
        render(found, Console())


@inspect.command("run")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def inspect_run(run_id: str, as_json: bool, database_url: str | None) -> None:
    """One run (by id, or the first characters of it), with its history."""
    from rich.console import Console

    from flowkit.errors import UnknownRunError
    from flowkit.review.inspect import as_json as to_json
    from flowkit.review.inspect import render

    with _inspect_engine(database_url) as engine:
        found = [r for r in engine.runs() if r.id.startswith(run_id)]
    if len(found) != 1:
        raise UnknownRunError(f"{len(found)} runs have an id starting {run_id!r}; give more "
                              "of it" if found else f"no run has the id {run_id!r}")
    if as_json:
        click.echo(to_json(found))
    else:
        render(found, Console())


@runs.command()
@click.option("--flow", required=True, help="The flow whose runs move.")
@click.option("--from", "from_step", required=True, help="The step they wait or park at.")
@click.option("--to", "to_step", required=True, help="A step of the current version.")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def migrate(flow: str, from_step: str, to_step: str, database_url: str | None) -> None:
    """Move the runs of FLOW waiting or parked at a step (one a new version may no
    longer have) to a step of the current version, which then runs afresh."""
    with _inspect_engine(database_url) as engine:
        moved = engine.migrate(flow, from_step, to_step)
    click.echo(f"moved {len(moved)} run(s) of {flow} from {from_step} to {to_step}")
