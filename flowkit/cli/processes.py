"""``flowkit run`` and ``flowkit scheduler``: the long-running processes."""

from __future__ import annotations

import sys

import click

from flowkit.cli._group import main


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
@click.option("--verbose", "-v", is_flag=True,
              help="Also show the libraries' INFO logs (Dramatiq, Alembic).")
def run(processes: int, threads: int, demo_users: int | None, time_scale: float | None,
        duration: float | None, metrics_port: int | None, flows: tuple[str, ...],
        verbose: bool) -> None:
    """Run the whole system: workers, scheduler and (without REDIS_URL) an embedded
    Redis, on DATABASE_URL (default: the SQLite file flowkit.db).

    Every flow is compiled first: one that does not compile stops the command, with
    its file, line and column, before anything starts."""
    from flowkit.runtime import services
    from flowkit.runtime.discovery import load_flows
    from flowkit.runtime.supervisor import RunOptions, run_system

    services.concurrent_batches()  # a bad setting: one line now, not a worker's traceback
    loaded = load_flows(list(flows) or None)  # raises CompileError, located
    if not loaded:
        click.echo("warning: no flows found (automations/, tracks/ or --flows): the "
                   "workers will have nothing to run", err=True)

    if demo_users is not None:
        time_scale = 86400.0 if time_scale is None else time_scale
        duration = 120.0 if duration is None else duration
    options = RunOptions(processes=processes, threads=threads, time_scale=time_scale or 1.0,
                         duration=duration, metrics_port=metrics_port,
                         demo_users=demo_users, flows=flows, verbose=verbose)
    sys.exit(run_system(options, echo=click.echo))


@main.command()
@click.option("--interval", default=0.1, show_default=True,
              help="Seconds between polls when nothing is due sooner.")
@click.option("--metrics-port", type=int, default=None,
              help="Serve the scheduler's Prometheus metrics (queue depth, due timers).")
def scheduler(interval: float, metrics_port: int | None) -> None:
    """Run a scheduler alone (one or more per deployment, beside the workers). It waits
    out database and Redis outages; it exits on Ctrl-C, SIGTERM, or what waiting cannot
    fix (an unmigrated schema)."""
    from flowkit.runtime import logs
    from flowkit.runtime.child import stop_event
    from flowkit.runtime.scheduler import serve

    logs.configure()
    serve(interval=interval, metrics_port=metrics_port, stop=stop_event())
