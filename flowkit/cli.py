"""The ``flowkit`` command.

User mistakes (a flow that does not compile, an unknown module, a bad event) exit with
status 1 and a one-line cause on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
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
    from flowkit.runtime import services

    redis_url = services.redis_url()
    dispatcher = None
    if redis_url:  # a running system: its workers route the event
        os.environ.setdefault("REDIS_URL", redis_url)
        from flowkit.runtime.worker import DramatiqDispatcher

        dispatcher = DramatiqDispatcher()
    with Engine(database_url or services.database_url(), dispatcher=dispatcher) as engine:
        result = engine.emit(event, user, idempotency_key=key, **payload)
    if result.duplicate:
        click.echo(f"{event} for {user}: duplicate of an earlier event (key {result.key}), "
                   "dropped")
    elif dispatcher is not None:
        click.echo(f"{event} for {user}: recorded and sent to the workers (key {result.key})")
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
def simulate(users: int, days: int) -> None:
    """Compile the example flows and simulate a cohort on a virtual clock (no services)."""
    from flowkit.demo import run_demo

    run_demo(users=users, days=days, echo=click.echo)


@main.command()
@click.option("--processes", "-p", default=2, show_default=True, help="Worker processes.")
@click.option("--threads", "-t", default=2, show_default=True, help="Threads per process.")
@click.option("--demo", "demo_users", type=int, default=None, is_flag=False, flag_value=300,
              help="Emit the demo's stream of events for this many users (flag alone: 300).")
@click.option("--time-scale", type=float, default=None,
              help="Simulated seconds per real second (86400: a day a second). "
                   "Default 1, or 86400 with --demo.")
@click.option("--duration", type=float, default=None,
              help="Stop after this many seconds (default: run until Ctrl-C; the demo "
                   "stops when its runs are done, or after 120 s).")
@click.option("--metrics-port", type=int, default=None,
              help="Serve the workers' Prometheus metrics on this port, the scheduler's "
                   "on the next one.")
@click.option("--flows", multiple=True, help="Modules, files or folders of flows "
              "(default: automations/ and tracks/).")
def run(processes: int, threads: int, demo_users: int | None, time_scale: float | None,
        duration: float | None, metrics_port: int | None, flows: tuple[str, ...]) -> None:
    """Run the whole system: workers, scheduler and (without REDIS_URL) an embedded
    Redis, on DATABASE_URL (default: the SQLite file flowkit.db)."""
    from flowkit.runtime.supervisor import RunOptions, run_system

    if demo_users is not None:
        time_scale = 86400.0 if time_scale is None else time_scale
        duration = 120.0 if duration is None else duration
    options = RunOptions(processes=processes, threads=threads, time_scale=time_scale or 1.0,
                         duration=duration, metrics_port=metrics_port,
                         demo_users=demo_users, flows=flows)
    sys.exit(run_system(options, echo=click.echo))


@main.command()
@click.option("--interval", default=0.1, show_default=True,
              help="Seconds between polls when nothing is due sooner.")
@click.option("--metrics-port", type=int, default=None,
              help="Serve the scheduler's Prometheus metrics (queue depth, due timers).")
def scheduler(interval: float, metrics_port: int | None) -> None:
    """Run a scheduler alone (one or more per deployment, beside the workers)."""
    import signal
    import threading

    from flowkit.clock import clock_from_env
    from flowkit.runtime import services, worker
    from flowkit.runtime.scheduler import Scheduler
    from flowkit.store import database

    engine = database.create_engine(services.database_url())
    database.ensure_schema(engine, migrate=False)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"scheduler polling {engine.url.render_as_string()} every {interval}s")
    Scheduler(engine, worker.broker, clock_from_env(), interval=interval,
              metrics_port=metrics_port).run(stop)


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
    with engine.connect() as conn:
        counts = store.run_counts(conn)
        timers = store.count_timers(conn)
        due, oldest = store.due_count(conn, now)
        nxt = store.next_due(conn)
        unrouted = store.unrouted_count(conn)
    engine.dispose()
    click.echo("runs:")
    if not counts:
        click.echo("  none")
    for (flow, run_status), n in sorted(counts.items()):
        click.echo(f"  {flow:<24} {run_status:<10} {n}")
    late = f", oldest due since {oldest:%Y-%m-%d %H:%M:%S}" if oldest else ""
    click.echo(f"timers: {timers} ({due} due now{late}; next {nxt or 'none'})")
    click.echo(f"events waiting to be routed: {unrouted}")
    redis_url = services.redis_url()
    if redis_url:
        import redis

        from flowkit.runtime.worker import ROUTE_QUEUE, TIMERS_QUEUE

        client = redis.Redis.from_url(redis_url)
        depth = {q: client.llen(f"dramatiq:{q}") for q in (ROUTE_QUEUE, TIMERS_QUEUE)}
        click.echo("queued messages: " + ", ".join(f"{q} {n}" for q, n in depth.items()))
    else:
        click.echo("queued messages: no Redis (set REDIS_URL, or start `flowkit run`)")


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


@main.command()
@click.argument("template", required=False)
@click.argument("name", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the premade templates.")
@click.option("--folder", default="automations", show_default=True,
              help="Where to write the module (its email goes to emails/ beside it).")
def new(template: str | None, name: str | None, list_only: bool, folder: str) -> None:
    """Write the premade TEMPLATE as a ready automation NAME: automations/NAME.py (and
    its email). Without arguments, or with --list, list the templates."""
    from flowkit.lms import templates

    if list_only or template is None:
        click.echo("premade templates (flowkit new TEMPLATE NAME):")
        for premade in templates.list():
            click.echo(f"  {premade.slug:<18} {premade.title}: {premade.summary}")
        return
    written = templates.write(template, name or "", folder)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"edit its settings, then check it with `flowkit compile {written[0]}`")


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


@main.command()
@click.argument("ref")
@click.option("--database-url", default=None,
              help="Count the runs waiting at each removed or changed step.")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.option("--allow-stranded", is_flag=True,
              help="Exit 0 even when the change strands waiting runs.")
def diff(ref: str, database_url: str | None, as_json: bool, allow_stranded: bool) -> None:
    """What the working tree changes in each flow since the git REF, as Markdown for a
    pull request (or JSON); exits 1 when it strands waiting runs."""
    from pathlib import Path

    from flowkit.review import diff as review
    from flowkit.runtime.discovery import DEFAULT_FOLDERS, load_flows

    before = review.flows_at(ref, Path.cwd())
    after = {f.name: f.ir for f in load_flows(
        [folder for folder in DEFAULT_FOLDERS if Path(folder).is_dir()])}
    resting = review.resting_runs(database_url) if database_url else None
    diffs = review.compare(before, after, resting)
    click.echo(review.as_json(diffs) if as_json
               else review.markdown(diffs, ref, resting is not None), nl=False)
    if any(d.stranded for d in diffs) and not allow_stranded:
        sys.exit(1)


@main.command("check")
@click.argument("paths", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--max-messages-per-day", type=click.IntRange(min=1), default=3,
              show_default=True, help="The most messages a flow may send a user in a day.")
def check_command(paths: tuple[str, ...], as_json: bool, max_messages_per_day: int) -> None:
    """Check flows before they run: enrollment cycles, track destinations, unknown
    events, email templates and placeholders, unreachable steps, messages per day,
    duplicate names. One finding per line (file:line: severity: flow: message [check]
    (fix: hint)); exits 1 when any is an error.

    PATHS are module names, .py files or folders (default: automations/ and tracks/).
    """
    from flowkit.review.check import Options, check

    report = check(list(paths), Options(max_messages_per_day=max_messages_per_day))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for finding in report.findings:
            click.echo(str(finding))
        counts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in (
            (len(report.flows), "flow"), (report.errors, "error"), (report.warnings, "warning"))]
        click.echo(f"checked {counts[0]}: {counts[1]}, {counts[2]}", err=True)
    sys.exit(1 if report.errors else 0)


@main.command("graph")
@click.argument("flow")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]),
              default="mermaid", show_default=True,
              help="Mermaid (renders in pull requests), Graphviz DOT, or SVG (needs Graphviz).")
@click.option("--sources", multiple=True, help="Modules, files or folders of flows "
              "(repeatable; default: automations/ and tracks/).")
def graph_command(flow: str, fmt: str, sources: tuple[str, ...]) -> None:
    """Draw FLOW, a flow's name, as a diagram: its triggers, steps, decisions, exits."""
    from flowkit.review.formats import find_flow, render
    from flowkit.runtime.discovery import load_flows

    click.echo(render(find_flow(load_flows(list(sources) or None), flow), fmt), nl=False)


@main.command("docs")
@click.option("--out", default="docs/flows", show_default=True,
              type=click.Path(file_okay=False), help="The folder of the generated pages.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing the pages that are out of date.")
@click.option("--sources", multiple=True, help="Modules, files or folders of flows "
              "(repeatable; default: automations/ and tracks/).")
def docs_command(out: str, check: bool, sources: tuple[str, ...]) -> None:
    """Write a Markdown page per flow (triggers, exits, diagram, steps) and an index,
    and remove the pages of flows that no longer exist."""
    from pathlib import Path

    from flowkit.review.docs import sync_docs
    from flowkit.runtime.discovery import load_flows

    folder = Path(out)
    report = sync_docs(load_flows(list(sources) or None), folder, check=check)
    if check:
        if report.stale:
            count = len(report.stale)
            pages = "1 page is" if count == 1 else f"{count} pages are"
            click.echo(f"{pages} out of date in {folder} (run `flowkit docs`):", err=True)
            for name in report.stale:
                why = "no longer a flow" if name in report.removed else \
                    "changed" if (folder / name).exists() else "missing"
                click.echo(f"  {folder / name}: {why}", err=True)
            sys.exit(1)
        click.echo(f"{out}: {report.pages} pages, up to date")
        return
    for name in report.written:
        click.echo(f"wrote {folder / name}")
    for name in report.removed:
        click.echo(f"removed {folder / name}")
    click.echo(f"{out}: {report.pages} pages, {len(report.written)} written, "
               f"{len(report.removed)} removed")


if __name__ == "__main__":
    main()
