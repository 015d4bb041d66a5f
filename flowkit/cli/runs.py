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


def _inspect_engine(database_url: str | None, *, flows: bool = True) -> Any:
    """An engine on the database; with ``flows=False`` it loads no flow, so that runs
    can be read and ended whatever state the code is in."""
    from flowkit.runtime import services
    from flowkit.runtime.engine import Engine

    return Engine(database_url or services.database_url(), None if flows else [])


def _flows_in_code() -> set[str] | None:
    from flowkit.runtime.discovery import flow_names

    return flow_names()


@inspect.command("user")
@click.argument("user_id")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def inspect_user(user_id: str, as_json: bool, database_url: str | None) -> None:
    """Every run of USER_ID, with its history."""
    from rich.console import Console

    from flowkit.review.inspect import as_json as to_json
    from flowkit.review.inspect import render

    with _inspect_engine(database_url, flows=False) as engine:
        found = engine.runs(user=user_id)
    known = _flows_in_code()
    if as_json:
        click.echo(to_json(found, known))
    elif not found:
        click.echo(f"user {user_id!r} has no runs")
    else:
        render(found, Console(), known=known)


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

    with _inspect_engine(database_url, flows=False) as engine:
        found = [r for r in engine.runs() if r.id.startswith(run_id)]
    if len(found) != 1:
        raise UnknownRunError(f"{len(found)} runs have an id starting {run_id!r}; give more "
                              "of it" if found else f"no run has the id {run_id!r}")
    known = _flows_in_code()
    if as_json:
        click.echo(to_json(found, known))
    else:
        render(found, Console(), known=known)


@runs.command()
@click.option("--flow", required=True, help="The flow whose runs move.")
@click.option("--from", "from_step", required=True, help="The step they wait or park at.")
@click.option("--to", "to_step", required=True, help="A step of the current version.")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def migrate(flow: str, from_step: str, to_step: str, database_url: str | None) -> None:
    """Move the runs of FLOW waiting or parked at a step (one a new version may no
    longer have) to a step of the current version, which then runs afresh. Fails,
    listing the valid steps, when either step is wrong or no run rests there."""
    from flowkit.errors import UnknownFlowError, UnknownRunError
    from flowkit.runtime.operations import resting as resting_at

    with _inspect_engine(database_url) as engine:
        resting = resting_at(engine, flow)
        target = engine.flows.get(flow)
        if target is None:
            known = ", ".join(sorted(engine.flows)) or "none"
            ending = (f"; its {sum(resting.values())} resting run(s) can be ended with "
                      f"`flowkit runs end --flow {flow} --reason ...`" if resting else "")
            raise UnknownFlowError(f"the code has no flow named {flow!r} (its flows: "
                                   f"{known}){ending}")
        steps = [s.id for s in target.ir.steps]
        if to_step not in steps:
            raise UnknownFlowError(f"{flow!r} has no step {to_step!r}; --to takes one of "
                                   f"its steps: {', '.join(steps)}")
        if not resting.get(from_step):
            where = ", ".join(f"{s} ({n})" for s, n in sorted(resting.items()))
            raise UnknownRunError(
                f"no run of {flow!r} waits or is parked at {from_step!r}; --from takes a "
                f"step where its runs rest: {where}" if where else
                f"no run of {flow!r} waits or is parked at {from_step!r}, nor at any step")
        moved = engine.migrate(flow, from_step, to_step)
    click.echo(f"moved {len(moved)} run(s) of {flow} from {from_step} to {to_step}")


@runs.command()
@click.argument("run_ids", nargs=-1)
@click.option("--flow", default=None, help="End the runs of this flow (in the code or not).")
@click.option("--step", default=None, help="...resting at this step.")
@click.option("--user", default=None, help="...of this user.")
@click.option("--reason", default=None, help="Why, kept in each run's history.")
@click.option("--by", default=None, help="Who ends them (default: your login name).")
@click.option("--dry-run", is_flag=True, help="List the runs it would end; end none.")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def end(run_ids: tuple[str, ...], flow: str | None, step: str | None, user: str | None,
        reason: str | None, by: str | None, dry_run: bool, database_url: str | None) -> None:
    """End runs that are waiting, running, parked or failed: by RUN_IDS (or their first
    characters), --flow, --step and --user (all that are given must match). Their
    timers go, and their history says who ended them and why. Works for flows the code
    no longer has."""
    import getpass

    from flowkit.errors import UnknownRunError
    from flowkit.runtime.operations import Selection, end_runs

    selection = Selection(flow=flow, step=step, user=user, runs=run_ids)
    if not reason and not dry_run:
        raise click.UsageError("say why with --reason (it is kept in each run's history)")
    who = by or getpass.getuser()
    with _inspect_engine(database_url, flows=False) as engine:
        ended = end_runs(engine, selection, reason=reason or "", by=who, dry_run=dry_run)
    if not ended:
        raise UnknownRunError(f"no waiting, running, parked or failed run matches "
                              f"{selection.describe()} (`flowkit inspect user ID` lists a "
                              "user's runs)")
    verb = "would end" if dry_run else "ended"
    click.echo(f"{verb} {len(ended)} run(s):")
    for run in ended:
        click.echo(f"  {run.id}  {run.flow}  {run.user}  {run.status} at {run.step or '-'}")
