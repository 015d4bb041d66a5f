"""``flowkit run``: everything on one machine in one command, and it heals itself.

It migrates the database, starts an embedded Redis when REDIS_URL is not set, starts
worker processes and a scheduler process (``flowkit.runtime.child``), prints progress
every second, and on Ctrl-C or SIGTERM shuts down in order: the scheduler stops
sending, the workers finish or release their messages (work that was not committed is
redone by another worker: it is still in SQL), then Redis stops.

A child that dies is started again after a backoff (0.5 s, doubling to 15 s; back to
0.5 s once it has lived a minute), with one line saying so. An outage of the database or
Redis is waited out: one line when it starts, one when it ends. ``flowkit run`` exits
only on a signal or on what a restart cannot fix (bad configuration, an unmigrated
schema, flows that do not compile), saying which. Its children die with it, even when
it is killed with -9. With its own embedded Redis it holds a lock in the database
(``flowkit.runtime.lease``), so a second one on the same database refuses to start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pendulum
import sqlalchemy as sa

from flowkit.clock import Clock, clock_from_env
from flowkit.errors import AlreadyRunningError
from flowkit.runtime import faults, services
from flowkit.runtime.child import EXIT_UNFIXABLE, PARENT_ENV
from flowkit.runtime.lease import DatabaseLock
from flowkit.runtime.services import redact_url
from flowkit.store import Store
from flowkit.store import database as db

Echo = Callable[[str], None]
T = TypeVar("T")


@attrs.frozen
class RunOptions:
    processes: int = 2
    threads: int = 2
    time_scale: float = 1.0
    duration: float | None = None  # seconds of wall time; None: until stopped
    metrics_port: int | None = None
    demo_users: int | None = None  # run the demo stream for this many users
    flows: tuple[str, ...] = ()
    verbose: bool = False  # show the libraries' INFO lines (Dramatiq, Alembic) too


@contextmanager
def _redis(echo: Echo) -> Iterator[services.EmbeddedRedis | str]:
    """REDIS_URL, else an embedded Redis for as long as the system runs."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with services.EmbeddedRedis() as redis:
        echo(f"started an embedded Redis at {redis.url}")
        yield redis


def _database_url(options: RunOptions) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    if options.demo_users is not None:  # a fresh database for each demo
        running = services.running_system()
        if running is not None:  # never wipe the database of a demo still running here
            raise AlreadyRunningError(
                f"a `flowkit run` (pid {running['pid']}) is running in this directory: "
                "stop it first")
        path = Path(".flowkit") / "demo.db"
        path.parent.mkdir(exist_ok=True)
        for stale in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm")):
            stale.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    return db.DEFAULT_URL


def run_system(options: RunOptions, echo: Echo = print) -> int:
    """Run everything until a signal, ``options.duration``, or the demo's end; the exit
    status (0, or 2 for what a restart cannot fix, raised as a ``FlowkitError``)."""
    database_url = _database_url(options)
    engine = db.create_engine(database_url)
    stop = _stop_on_signals()
    try:
        if not _wait_for("the database", lambda: db.ensure_schema(engine, migrate=True),
                         stop, echo):
            return 0
        echo(f"database {redact_url(engine.url)} is at the current schema")
        from flowkit.runtime.discovery import load_flows

        load_flows(options.flows or None)  # flows that do not compile: say so, start nothing
        lock = None
        if not os.environ.get("REDIS_URL"):
            lock = DatabaseLock(engine)
            lock.acquire()
        try:
            with _redis(echo) as redis:
                return _run(options, database_url, redis, engine, lock, stop, echo)
        finally:
            if lock is not None:
                lock.release()
    finally:
        engine.dispose()


def _run(options: RunOptions, database_url: str, redis: services.EmbeddedRedis | str,
         engine: sa.Engine, lock: DatabaseLock | None, stop: threading.Event,
         echo: Echo) -> int:
    redis_url = redis if isinstance(redis, str) else redis.url
    env = _child_env(options, database_url, redis_url)
    os.environ.update({k: env[k] for k in env if k.startswith(("FLOWKIT_", "REDIS_URL",
                                                              "DATABASE_URL"))})
    services.write_run_file({"pid": os.getpid(), "redis_url": redis_url,
                             "database_url": database_url,
                             "time_scale": options.time_scale})
    try:
        supervisor = Supervisor(options, env, engine, lock, stop, echo)
        supervisor.embedded = None if isinstance(redis, str) else redis
        return supervisor.run()
    finally:
        services.remove_run_file(os.getpid())


def _child_env(options: RunOptions, database_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url,
               **{PARENT_ENV: str(os.getpid())})
    if options.verbose:  # flowkit's INFO lines, and the libraries' (Dramatiq, Alembic)
        env.update(FLOWKIT_LOG_LEVEL="INFO", FLOWKIT_LIBRARY_LOG_LEVEL="INFO")
    elif options.demo_users is not None:  # progress lines, not a line per transition
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
    return env


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _wait_for(what: str, check: Callable[[], object], stop: threading.Event,
              echo: Echo) -> bool:
    """``check()`` until it passes, waiting out transient faults (said once); False if
    stopped first. What waiting cannot fix is raised."""
    backoff = faults.Backoff(first=0.5, most=5.0)
    said = False
    while not stop.is_set():
        try:
            check()
            return True
        except Exception as error:
            problem = faults.transient(error)
            if problem is None:
                raise
            if not said:
                echo(f"waiting for {what}: {problem}")
                said = True
            backoff.wait(stop)
    return False


@attrs.define
class Child:
    """One process ``flowkit run`` keeps alive."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float | None = None
    delay: float = 0.5
    restarts: int = 0

    def start(self, env: dict[str, str]) -> None:
        # From the main thread: Linux's parent-death signal follows the thread that forked.
        self.process = subprocess.Popen(self.argv, env=env)
        self.started = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def died(self) -> int | None:
        """The exit status if the process has ended since it was started, else None."""
        if self.process is None or self.restart_at is not None:
            return None
        return self.process.poll()


def _how(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


class Supervisor:
    """Starts the children, restarts those that die, reports progress and outages."""

    MOST_DELAY = 15.0
    HEALTHY_AFTER = 60.0

    def __init__(self, options: RunOptions, env: dict[str, str], engine: sa.Engine,
                 lock: DatabaseLock | None, stop: threading.Event, echo: Echo) -> None:
        self.options = options
        self.env = env
        self.engine = engine
        self.lock = lock
        self.stop = stop
        self.echo = echo
        self.store = Store(engine)
        self.clock = clock_from_env(env)
        self.down: dict[str, float] = {}  # service -> since when it is unreachable
        self.embedded: services.EmbeddedRedis | None = None  # restarted if it dies
        child = [sys.executable, "-m", "flowkit.runtime.child"]
        metrics = options.metrics_port
        # The scheduler first: if it cannot start (a bad SMTP_URL, a metrics port in
        # use), it says so before the workers begin.
        self.children = [Child("scheduler", [*child, "scheduler", *(
            ["--metrics-port", str(metrics + 1)] if metrics else [])])]
        self.children += [Child(f"worker {i + 1}", [*child, "worker", "--threads",
                                                    str(options.threads)])
                          for i in range(options.processes)]
        if metrics:
            self.children.append(Child("metrics", [*child, "metrics"]))
        if lock is not None:  # the embedded default: the front door too, on loopback
            from flowkit.serve import process as server

            port = server.port()
            self.children.append(Child("server", server.argv(port)))
            echo(f"serving events at http://127.0.0.1:{port} (flowkit serve; loopback, "
                 "demo mode)")
            echo(f"console at http://127.0.0.1:{port}/console/ (open on loopback in demo "
                 "mode; set FLOWKIT_CONSOLE_PASSWORD elsewhere)")

    def run(self) -> int:
        for child in self.children:
            child.start(self.env)
        self.echo(f"started {self.options.processes} worker processes × "
                  f"{self.options.threads} threads and a scheduler (pids "
                  f"{', '.join(str(c.pid) for c in self.children)})")
        demo = self._demo()
        started = last_report = time.monotonic()
        try:
            while not self.stop.wait(0.2):
                unfixable = self._tend()
                if unfixable:
                    self.echo(f"stopping: {unfixable}")
                    return 2
                if time.monotonic() - last_report < 1.0:
                    continue
                last_report = time.monotonic()
                idle = self._report(started)
                if self.options.duration and time.monotonic() - started >= \
                        self.options.duration:
                    break
                if demo is not None and demo.done and idle:
                    self.echo("the demo is done: nothing left to route and no timer left "
                              "to fire (what still waits, waits for an event: see below)")
                    break
            else:
                self.echo("stopping on a signal")
        finally:
            self.stop.set()
            self._stop_children()
            if demo is not None:
                from flowkit.demo import summary

                summary(self.engine, self.clock.now(), self.echo)
        return 0

    def _demo(self) -> Any:
        if self.options.demo_users is None:
            return None
        from flowkit.demo import DemoStream

        demo = DemoStream(self.options.demo_users, self.clock, self.echo)
        threading.Thread(target=demo.run, args=(self.stop,), name="demo", daemon=True).start()
        return demo

    def _tend(self) -> str | None:
        """Restart the children that died; what a restart cannot fix, if that is why."""
        now = time.monotonic()
        redis = self.embedded
        if redis is not None and redis.process is not None and \
                redis.process.poll() is not None:
            self.echo(f"the embedded Redis {_how(redis.process.returncode)}; restarting it "
                      "(the scheduler re-sends what it held from SQL)")
            redis.start()
        for child in self.children:
            status = child.died()
            if status is not None:
                if status == EXIT_UNFIXABLE:
                    return (f"the {child.name} cannot start, and a restart would not help "
                            "(its error is above)")
                if now - child.started >= self.HEALTHY_AFTER:
                    child.delay = 0.5
                child.restart_at = now + child.delay
                self.echo(f"the {child.name} (pid {child.pid}) {_how(status)}; restarting "
                          f"it in {child.delay:g} s")
                child.delay = min(child.delay * 2, self.MOST_DELAY)
            elif child.restart_at is not None and now >= child.restart_at:
                child.start(self.env)
                child.restarts += 1
        return None

    def _report(self, started: float) -> bool:
        """Print a progress line (or an outage's start and end); whether all is idle."""
        if self.lock is not None:
            self._service("database", self.lock.renew)
        progress = self._service("database", lambda: _progress(self.store, self.clock,
                                                               started))
        queued = self._service("Redis", self._queued)
        if progress is None or queued is None:
            return False
        text, idle = progress
        self.echo(f"{text} | queued messages {queued}")
        return idle

    def _service(self, service: str, look: Callable[[], T]) -> T | None:
        """``look()``, or None while ``service`` is unreachable (said when the outage
        starts and when it ends)."""
        try:
            value = look()
        except Exception as error:
            problem = faults.transient(error)
            if problem is None:
                raise
            if service not in self.down:
                self.down[service] = time.monotonic()
                self.echo(f"{problem}; waiting (the workers and the scheduler retry with "
                          "backoff, nothing is lost)")
            return None
        since = self.down.pop(service, None)
        if since is not None:
            self.echo(f"{service} reachable again after {time.monotonic() - since:.1f} s; "
                      "resuming")
        return value

    def _queued(self) -> int:
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"], socket_timeout=2,
                                      socket_connect_timeout=2)
        try:
            return sum(int(client.llen(f"dramatiq:{q}"))
                       for q in ("flowkit.route", "flowkit.timers"))
        finally:
            client.close()

    def _stop_children(self) -> None:
        self.echo("stopping the workers (they finish or release what they hold)")
        alive = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in alive:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        for process in alive:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _progress(store: Store, clock: Clock, started: float) -> tuple[str, bool]:
    with db.reading(store.engine) as conn:
        counts = store.run_counts(conn)
        due, _ = store.due_count(conn, clock.now())
        timers = store.count_timers(conn)
        unrouted = store.unrouted_count(conn)
    by_status: dict[str, int] = {}
    for (_flow, status), n in counts.items():
        by_status[status] = by_status.get(status, 0) + n
    statuses = " ".join(f"{s}={n}" for s, n in sorted(by_status.items())) or "no runs yet"
    line = (f"[{time.monotonic() - started:5.1f}s | {clock.now():%Y-%m-%d %H:%M}] runs: "
            f"{statuses} | timers {timers} ({due} due) | events to route {unrouted}")
    # Idle: nothing to route and no timer left: what still waits, waits for an event
    # (an inactivity watcher waiting for the user's return, say).
    idle = bool(counts) and not timers and not unrouted
    return line, idle

