"""``flowkit run``: everything on one machine in one command.

It migrates the database, starts an embedded Redis when REDIS_URL is not set, starts
Dramatiq worker processes (``python -m dramatiq flowkit.runtime.worker``), runs the
scheduler, prints progress every second, and on Ctrl-C or SIGTERM shuts down in order:
the scheduler stops sending, the workers finish or release their messages (work that
was not committed is redone by another worker: it is still in SQL), then Redis stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pendulum

from flowkit.clock import Clock, clock_from_env
from flowkit.runtime import services
from flowkit.store import Store
from flowkit.store import database as db

Echo = Callable[[str], None]


@attrs.frozen
class RunOptions:
    processes: int = 2
    threads: int = 2
    time_scale: float = 1.0
    duration: float | None = None  # seconds of wall time; None: until stopped
    metrics_port: int | None = None
    demo_users: int | None = None  # run the demo stream for this many users
    flows: tuple[str, ...] = ()


@contextmanager
def _redis(echo: Echo) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with services.EmbeddedRedis() as redis:
        echo(f"started an embedded Redis at {redis.url}")
        yield redis.url


def _database_url(options: RunOptions) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    if options.demo_users is not None:  # a fresh database for each demo
        path = Path(".flowkit") / "demo.db"
        path.parent.mkdir(exist_ok=True)
        for stale in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm")):
            stale.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    return db.DEFAULT_URL


def run_system(options: RunOptions, echo: Echo = print) -> int:
    serve = not os.environ.get("REDIS_URL")  # the embedded default runs flowkit serve too
    database_url = _database_url(options)
    engine = db.create_engine(database_url)
    db.ensure_schema(engine, migrate=True)
    echo(f"database {engine.url.render_as_string()} is at the current schema")
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    if options.demo_users is not None:  # progress lines, not a log line per transition
        env.setdefault("FLOWKIT_LOG_LEVEL", "WARNING")
    if options.time_scale != 1.0:
        env.update(FLOWKIT_TIME_SCALE=str(options.time_scale),
                   FLOWKIT_TIME_ORIGIN=repr(time.time()),
                   FLOWKIT_TIME_START=pendulum.now("UTC").start_of("day").isoformat())
    if options.metrics_port:
        env.update(FLOWKIT_METRICS_PORT=str(options.metrics_port),
                   dramatiq_prom_port=str(options.metrics_port),
                   dramatiq_prom_host="127.0.0.1")
    if options.flows:
        env["FLOWKIT_FLOWS"] = os.pathsep.join(options.flows)
    with _redis(echo) as redis_url:
        env["REDIS_URL"] = redis_url
        os.environ.update({k: env[k] for k in env if k.startswith(("FLOWKIT_", "REDIS_URL",
                                                                  "DATABASE_URL"))})
        clock = clock_from_env(env)
        services.write_run_file({"pid": os.getpid(), "redis_url": redis_url,
                                 "database_url": database_url,
                                 "time_scale": options.time_scale})
        try:
            return _supervise(options, env, engine, clock, echo, serve=serve)
        finally:
            services.RUN_FILE.unlink(missing_ok=True)
            engine.dispose()


def _supervise(options: RunOptions, env: dict[str, str], engine: Any, clock: Clock,
               echo: Echo, serve: bool = False) -> int:
    from flowkit.runtime import worker
    from flowkit.runtime.scheduler import Scheduler
    from flowkit.serve import process as server

    # The scheduler first: if it cannot start (a bad SMTP_URL, a metrics port in use),
    # no worker process is left behind.
    scheduler = Scheduler(engine, worker.broker, clock, metrics_port=(
        options.metrics_port + 1 if options.metrics_port else None))
    command = services.worker_command(options.processes, options.threads)
    workers = subprocess.Popen(command, env={**services.WORKER_ENV, **env})
    echo(f"started {options.processes} worker processes × {options.threads} threads "
         f"(pid {workers.pid})")
    http = server.start(env, echo) if serve else None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=scheduler.run, args=(stop,), name="scheduler",
                                daemon=True)]
    demo = None
    if options.demo_users is not None:
        from flowkit.demo import DemoStream

        demo = DemoStream(options.demo_users, clock, echo)
        threads.append(threading.Thread(target=demo.run, args=(stop,), name="demo",
                                        daemon=True))
    for thread in threads:
        thread.start()
    started = time.monotonic()
    store = Store(engine)
    try:
        while not stop.wait(1.0):
            if workers.poll() is not None:
                echo(f"the workers exited with status {workers.returncode}; stopping")
                return 1
            line, idle = _progress(store, scheduler, clock, started)
            echo(line)
            if options.duration and time.monotonic() - started >= options.duration:
                break
            if demo is not None and demo.done and idle:
                echo("the demo's runs have all finished")
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        if http is not None:
            server.stop(http)
        echo("stopping the workers (they finish or release what they hold)")
        workers.send_signal(signal.SIGTERM)
        try:
            workers.wait(60)
        except subprocess.TimeoutExpired:
            workers.kill()
        if demo is not None:
            _summary(store, echo)
    return 0


def _progress(store: Store, scheduler: Any, clock: Clock, started: float
              ) -> tuple[str, bool]:
    from flowkit.runtime import worker

    with store.engine.connect() as conn:
        counts = store.run_counts(conn)
        due, _ = store.due_count(conn, clock.now())
        timers = store.count_timers(conn)
        unrouted = store.unrouted_count(conn)
    by_status: dict[str, int] = {}
    for (_flow, status), n in counts.items():
        by_status[status] = by_status.get(status, 0) + n
    queued = sum(scheduler.waiting(q) for q in (worker.ROUTE_QUEUE, worker.TIMERS_QUEUE))
    statuses = " ".join(f"{s}={n}" for s, n in sorted(by_status.items())) or "no runs yet"
    line = (f"[{time.monotonic() - started:5.1f}s | {clock.now():%Y-%m-%d %H:%M}] runs: "
            f"{statuses} | timers {timers} ({due} due) | events to route {unrouted} | "
            f"queued messages {queued}")
    # Idle: nothing to route and no timer left: what still waits, waits for an event
    # (an inactivity watcher waiting for the user's return, say).
    idle = bool(counts) and not timers and not unrouted
    return line, idle


def _summary(store: Store, echo: Echo) -> None:
    with store.engine.connect() as conn:
        counts = store.run_counts(conn)
        actions = store.actions(conn)
    echo("runs by flow and status:")
    for (flow, status), n in sorted(counts.items()):
        echo(f"  {flow:<20} {status:<10} {n}")
    echo("actions run:")
    done = Counter((a["flow"], a["action"], a["args"].get("template", "")) for a in actions)
    for (flow, action, template), n in sorted(done.items()):
        echo(f"  {flow:<20} {action} {template:<22} {n}")

