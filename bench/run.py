"""The benchmark: flowkit on PostgreSQL and Redis with real worker processes.

    python -m bench.run                      # every scenario, figures to docs/performance.md
    python -m bench.run --flows 5000 --waiting 20000 --timers 10000 --no-write

Uses DATABASE_URL and REDIS_URL when they are set; otherwise starts an embedded
PostgreSQL (pgserver) and an embedded Redis. S5, the embedded default, is this same
benchmark with DATABASE_URL=sqlite:///path/flowkit.db and no REDIS_URL (DBOS then gets
a SQLite file beside it). The database's flowkit tables are dropped
and rebuilt first: point it at a database you can wipe.

S1  N flows `action -> wait 1 s -> branch -> action`: completed flows per second,
    database commits per flow, CPU per flow (workers, PostgreSQL, the rest).
S2  S1 again while M other runs wait 7 days: throughput ratio to S1, worker RSS growth
    per 100,000 waiting runs (over the second half of them: the first half grows the
    workers to their working size), p99 timer lateness.
S3  K timers all due at once: timers fired per second.
L   one event to its first action with the system idle: median and p95 latency.
B   S1's flow as a plain chain of Dramatiq actors with Dramatiq's delayed messages (not
    durable), on the same Redis and worker layout: flowkit's ratio to it.
F   S1's flow with the least a durable engine does (bench/floor.py: state in PostgreSQL,
    a transaction and a message per batch of 500, nothing else), on the same workers
    and servers: what this machine allows, and flowkit's S1 as a fraction of it.
D   S1's flow as a DBOS Transact workflow on the same PostgreSQL server, when the
    `bench` extra (dbos) is installed: flowkit's ratio to it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pendulum
import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]


# -- services and processes ---------------------------------------------------------


@contextmanager
def services() -> Iterator[tuple[str, str]]:
    from flowkit.runtime.services import EmbeddedRedis

    pg = os.environ.get("DATABASE_URL")
    server = None
    if not pg:
        import pgserver

        server = pgserver.get_server(tempfile.mkdtemp(prefix="flowkit-bench-pg-"),
                                     cleanup_mode="delete")
        pg = server.get_uri()
    embedded = None
    rd = os.environ.get("REDIS_URL")
    if not rd:
        embedded = EmbeddedRedis().start()
        rd = embedded.url
    try:
        yield pg, rd
    finally:
        if embedded:
            embedded.stop()
        if server:
            server.cleanup()


def reset_database(url: str) -> sa.Engine:
    """Drop every table flowkit's migrations make (the built-in platform's too, which
    join the metadata only when ``flowkit.lms.tables`` is imported), then migrate."""
    import flowkit.lms.tables  # noqa: F401  (the school's tables, dropped with the rest)
    from flowkit.store import database
    from flowkit.store.schema import metadata

    engine = database.create_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    database.upgrade(engine)
    return engine


class Workers:
    def __init__(self, module: str, env: dict[str, str], processes: int, threads: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", module, "--processes", str(processes),
             "--threads", str(threads)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def rss_mib(self) -> float:
        total = 0
        for pid in self.children():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def cpu(self) -> float:
        """CPU seconds the worker processes (and their parent) have used so far."""
        return sum(process_cpu(pid) for pid in [self.proc.pid, *self.children()])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


# -- measurements -------------------------------------------------------------------


class Bench:
    def __init__(self, pg: str, rd: str, args: argparse.Namespace) -> None:
        self.args = args
        self.pg = pg
        self.rd = rd
        self.db = reset_database(pg)
        self.env = dict(os.environ, DATABASE_URL=pg, REDIS_URL=rd,
                        FLOWKIT_FLOWS="bench.flows", FLOWKIT_LOG_LEVEL="WARNING",
                        PYTHONPATH=str(ROOT))
        if args.rules:  # S1's messages under quiet hours and a frequency cap
            self.env["FLOWKIT_RULES"] = "bench.flows:rules"
        os.environ["REDIS_URL"] = rd
        import bench.flows as flows
        from flowkit import Engine
        from flowkit.runtime import worker

        self.engine = Engine(pg, [flows.s1, flows.hold, flows.s3, flows.ping],
                             dispatcher=worker.DramatiqDispatcher())
        self.results: dict[str, Any] = {}
        self.workers: Workers | None = None
        self.scheduler_pid = 0

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the workers, PostgreSQL's processes serving this
        database (when the server runs on this machine), and the rest (the scheduler
        and this process, which emits the events)."""
        from bench.engine_path import server_cpu

        return {"workers": self.workers.cpu() if self.workers else 0.0,
                "postgresql": sum(server_cpu(self.db).values()) if self.postgresql else 0.0,
                "other": process_cpu(self.scheduler_pid) + time.process_time()}

    def count(self, flow: str, status: str) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM flowkit_runs WHERE flow = :f AND status = :s"),
                {"f": flow, "s": status}).scalar_one())

    def last_completed(self, flow: str, since: pendulum.DateTime) -> pendulum.DateTime:
        """When the last run of ``flow`` to complete since ``since`` did (the workers'
        clock)."""
        from flowkit.store import schema as t

        runs = t.runs
        with self.db.connect() as conn:
            last: pendulum.DateTime = conn.execute(
                sa.select(sa.func.max(runs.c.updated_at)).where(
                    runs.c.flow == flow, runs.c.status == "completed",
                    runs.c.updated_at >= since)).scalar_one()
        return last

    @property
    def postgresql(self) -> bool:
        return self.db.dialect.name == "postgresql"

    def commits(self) -> int:
        if not self.postgresql:
            return 0  # SQLite keeps no count of commits
        with self.db.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )).scalar_one())

    def settle(self) -> None:
        """VACUUM ANALYZE the set-up's rows, as autovacuum would within a minute in
        production: this machine's PostgreSQL runs with autovacuum off, so without it
        S2 would measure the planner without statistics and every index entry of
        S1's 20,000 finished runs still pointing at dead rows."""
        if not self.postgresql:
            return
        with self.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")

    def emit(self, event: str, users: range, **payload: Any) -> None:
        chunk = 5000
        for start in range(users.start, users.stop, chunk):
            self.engine.emit_many([{"event": event, "user": f"user-{i}", **payload}
                                   for i in range(start, min(start + chunk, users.stop))])

    def s1(self, users: range, label: str) -> dict[str, float]:
        done_before = self.count("s1", "completed")
        time.sleep(1.5)
        commits = self.commits()
        cpu = self.cpu()
        began = pendulum.now("UTC")
        self.emit("bench.s1", users)
        n = len(users)
        # Polled twice a second: counting the completed runs is PostgreSQL work that
        # would be charged to the flows. The time is the last run's own completion.
        wait_for(lambda: self.count("s1", "completed") - done_before >= n, 600,
                 f"{label}: {n} flows", every=0.5)
        seconds = (self.last_completed("s1", began) - began).total_seconds()
        # PostgreSQL's processes come and go with the pools: those gone are not counted
        spent = {k: (v - cpu[k]) * 1000 / n for k, v in self.cpu().items()}
        time.sleep(1.5)  # PostgreSQL publishes its statistics within a second or so
        per_flow = (self.commits() - commits) / n
        lateness = self.lateness(users)
        figures = {"flows": n, "seconds": seconds, "flows_per_s": n / seconds,
                   "commits_per_flow": per_flow, **lateness,
                   **{f"cpu_ms_{k}": v for k, v in spent.items()}}
        print(f"{label}: {n} flows in {seconds:.1f}s = {n / seconds:,.0f} flows/s, "
              f"{per_flow:.3f} commits per flow, timer lateness p50 "
              f"{lateness['lateness_p50']:.3f}s p99 {lateness['lateness_p99']:.3f}s; CPU per "
              f"flow: workers {spent['workers']:.3f} ms, PostgreSQL {spent['postgresql']:.3f}"
              f" ms, scheduler and emitter {spent['other']:.3f} ms", flush=True)
        return figures

    def lateness(self, users: range) -> dict[str, float]:
        """How long after its due time each S1 run's wait was resumed."""
        query = sa.text("""
            SELECT h.run_id, h.entries, x.user_id FROM flowkit_history h
            JOIN flowkit_runs x ON x.id = h.run_id
            WHERE x.flow = 's1' ORDER BY h.id""")
        wanted = {f"user-{i}" for i in users}
        due: dict[str, pendulum.DateTime] = {}
        late: list[float] = []
        with self.db.connect() as conn:
            for run_id, entries, user in conn.execute(query):
                if user not in wanted:
                    continue
                if isinstance(entries, str):  # SQLite, read without the column's type
                    entries = json.loads(entries)
                for entry in entries:
                    if entry["kind"] == "waiting":
                        due[run_id] = pendulum.parse(entry["detail"]["until"])
                    elif entry["kind"] == "resumed" and run_id in due:
                        late.append((pendulum.parse(entry["at"]) - due[run_id])
                                    .total_seconds())
        late.sort()
        if not late:
            return {"lateness_p50": float("nan"), "lateness_p99": float("nan")}
        return {"lateness_p50": late[len(late) // 2],
                "lateness_p99": late[min(len(late) - 1, int(len(late) * 0.99))]}

    def latency(self, samples: int = 20) -> dict[str, float]:
        out = []
        for i in range(samples):
            user = f"ping-{i}"
            sent = time.time()
            self.engine.emit("bench.ping", user)
            found: list[float] = []

            def stamped(user: str = user, found: list[float] = found) -> bool:
                with self.db.connect() as conn:
                    value = conn.execute(sa.text(
                        "SELECT result FROM flowkit_actions WHERE user_id = :u"),
                        {"u": user}).scalar_one_or_none()
                if value is not None:
                    found.append(float(value))
                return value is not None

            wait_for(stamped, 30, "the ping's action", every=0.002)
            out.append(found[0] - sent)
            time.sleep(0.2)
        out.sort()
        figures = {"latency_p50": statistics.median(out),
                   "latency_p95": out[int(len(out) * 0.95) - 1]}
        print(f"L: event to first action: median {figures['latency_p50'] * 1000:.1f} ms, "
              f"p95 {figures['latency_p95'] * 1000:.1f} ms", flush=True)
        return figures

    def s3(self, n: int) -> dict[str, float]:
        self.emit("bench.s3", range(0, n))
        wait_for(lambda: self.count("s3", "waiting") >= n, 600, f"{n} S3 runs waiting",
                 every=0.2)
        due = pendulum.now("UTC")
        with self.db.begin() as conn:  # every timer due at once
            conn.execute(sa.text(
                "UPDATE flowkit_timers SET due_at = :now WHERE run_id IN "
                "(SELECT id FROM flowkit_runs WHERE flow = 's3')"), {"now": due.naive()})
        began = pendulum.now("UTC")  # due from the commit on
        cpu = self.cpu()
        # As in S1: polled twice a second, timed by the last run's own completion.
        wait_for(lambda: self.count("s3", "completed") >= n, 600, f"{n} S3 timers fired",
                 every=0.5)
        seconds = (self.last_completed("s3", began) - began).total_seconds()
        spent = {k: (v - cpu[k]) * 1000 / n for k, v in self.cpu().items()}
        print(f"S3: {n} timers due at once fired in {seconds:.1f}s = {n / seconds:,.0f}/s; "
              f"CPU per timer: workers {spent['workers']:.3f} ms, PostgreSQL "
              f"{spent['postgresql']:.3f} ms, scheduler and emitter {spent['other']:.3f} ms",
              flush=True)
        return {"timers": n, "seconds": seconds, "fired_per_s": n / seconds,
                **{f"cpu_ms_{k}": v for k, v in spent.items()}}

    def baseline(self, n: int) -> dict[str, float]:
        client = redis.Redis.from_url(self.rd)
        client.delete("bench-chain:done")
        chain = Workers("bench.chain", self.env, self.args.processes, self.args.threads)
        try:
            import bench.chain as chain_module

            time.sleep(3)
            began = time.perf_counter()
            pipe = []
            for i in range(n):
                pipe.append(chain_module.first.message(i))
            for message in pipe:
                chain_module.broker.enqueue(message)
            wait_for(lambda: int(client.get("bench-chain:done") or 0) >= n, 600,
                     f"{n} Dramatiq chains", every=0.1)
            seconds = time.perf_counter() - began
        finally:
            chain.stop()
        print(f"B: plain Dramatiq chain: {n} in {seconds:.1f}s = {n / seconds:,.0f} flows/s",
              flush=True)
        return {"flows": n, "seconds": seconds, "flows_per_s": n / seconds}

    def floor(self, n: int) -> dict[str, float]:
        """F: S1's flow with the least a durable engine does (bench/floor.py), on the same
        workers, Redis and PostgreSQL: what this machine allows."""
        import bench.floor as floor

        floor.create_tables(self.db)
        redis.Redis.from_url(self.rd).delete(f"{floor.broker.namespace}:floor")
        workers = Workers("bench.floor", self.env, self.args.processes, self.args.threads)
        nudger = subprocess.Popen([sys.executable, "-m", "bench.floor"], env=self.env,
                                  cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)

        def completed() -> int:
            with self.db.connect() as conn:
                return int(conn.execute(sa.text(
                    "SELECT count(*) FROM floor_runs WHERE status = 'completed'")).scalar_one())

        def cpu() -> dict[str, float]:
            from bench.engine_path import server_cpu

            return {"workers": workers.cpu(), "postgresql": sum(server_cpu(self.db).values()),
                    "other": process_cpu(nudger.pid) + time.process_time()}

        try:
            time.sleep(3)
            floor.emit(self.db, range(10_000_000, 10_000_500))  # warm-up
            wait_for(lambda: completed() >= 500, 120, "the floor's warm-up", every=0.1)
            before, began = cpu(), time.perf_counter()
            floor.emit(self.db, range(0, n))
            wait_for(lambda: completed() >= n + 500, 600, f"{n} floor flows", every=0.1)
            seconds = time.perf_counter() - began
            spent = {k: (v - before[k]) * 1000 / n for k, v in cpu().items()}
        finally:
            os.killpg(nudger.pid, signal.SIGTERM)
            workers.stop()
            with self.db.begin() as conn:
                conn.exec_driver_sql("DROP TABLE floor_timers, floor_runs, floor_events")
        print(f"F: the floor: {n} in {seconds:.1f}s = {n / seconds:,.0f} flows/s; CPU per "
              f"flow: workers {spent['workers']:.3f} ms, PostgreSQL {spent['postgresql']:.3f}"
              f" ms, nudger and emitter {spent['other']:.3f} ms", flush=True)
        return {"flows": n, "seconds": seconds, "flows_per_s": n / seconds,
                **{f"cpu_ms_{k}": v for k, v in spent.items()}}

    def run(self) -> dict[str, Any]:
        a = self.args
        workers = self.workers = Workers("flowkit.runtime.worker", self.env, a.processes,
                                         a.threads)
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "flowkit.cli", "scheduler", "--interval", "0.05"],
            env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.scheduler_pid = scheduler.pid
        try:
            time.sleep(3)
            self.s1(range(10_000_000, 10_000_000 + 500), "warm-up")
            self.results["L"] = self.latency()
            self.results["S1"] = self.s1(range(0, a.flows), "S1")
            if a.waiting:
                # Routed in two halves: the first grows the workers to their working
                # size (caches, the allocator's arenas), the second shows what waiting
                # runs themselves keep, which is what must stay ~0.
                rss_before = rss_half = workers.rss_mib()
                half = a.waiting // 2
                routed_s = 0.0
                for start, stop in ((0, half), (half, a.waiting)):
                    began = time.perf_counter()
                    self.emit("bench.hold", range(2_000_000 + start, 2_000_000 + stop))
                    wait_for(lambda n=stop: self.count("hold", "waiting") >= n, 900,
                             f"{stop} waiting runs", every=0.2)
                    routed_s += time.perf_counter() - began
                    if start == 0:
                        rss_half = workers.rss_mib()
                rss_after = workers.rss_mib()
                self.settle()
                print(f"S2: {a.waiting} runs now wait 7 days (routed in {routed_s:.1f}s, "
                      f"{a.waiting / routed_s:,.0f}/s); worker RSS {rss_before:.1f} -> "
                      f"{rss_half:.1f} (half) -> {rss_after:.1f} MiB", flush=True)
                s2 = self.s1(range(1_000_000, 1_000_000 + a.flows), "S2")
                rss_end = workers.rss_mib()
                growth = (rss_after - rss_half) * 100_000 / (a.waiting - half)
                self.results["S2"] = {
                    **s2, "waiting": a.waiting, "ratio_to_s1":
                        s2["flows_per_s"] / self.results["S1"]["flows_per_s"],
                    "rss_before_mib": rss_before, "rss_half_mib": rss_half,
                    "rss_after_mib": rss_after,
                    "rss_end_mib": rss_end, "rss_growth_per_100k_mib": growth,
                    "routed_per_s": a.waiting / routed_s}
            if a.timers:
                self.results["S3"] = self.s3(a.timers)
        finally:
            os.killpg(scheduler.pid, signal.SIGTERM)
            workers.stop()
        if a.floor and self.postgresql:
            self.results["F"] = self.floor(a.flows)
        if a.baseline:
            self.results["B"] = self.baseline(a.flows)
        if a.baseline and a.dbos_flows:
            self.results["D"] = self.dbos(a.dbos_flows)
        self.engine.close()
        return self.results

    def dbos(self, n: int) -> dict[str, float]:
        try:
            import dbos  # noqa: F401
        except ImportError:
            print("D: skipped: install the bench extra (pip install -e .[bench])", flush=True)
            return {}
        out = subprocess.run(
            [sys.executable, "-m", "bench.dbos_baseline", "--flows", str(n),
             "--database-url", self.pg], cwd=ROOT, capture_output=True, text=True,
            timeout=1800, check=True).stdout.split()
        flows, seconds = int(out[-2]), float(out[-1])
        print(f"D: DBOS Transact: {flows} in {seconds:.1f}s = {flows / seconds:,.0f} flows/s",
              flush=True)
        return {"flows": flows, "seconds": seconds, "flows_per_s": flows / seconds}


def report(results: dict[str, Any], args: argparse.Namespace, command: str,
           load: float = 0.0) -> str:
    s1 = results["S1"]
    cores = os.cpu_count() or 1
    sqlite = os.environ.get("DATABASE_URL", "").startswith("sqlite")
    name, where = ("S5", " on the embedded default (a SQLite file, embedded Redis)") \
        if sqlite else ("S1", "")
    cpu_total = s1["cpu_ms_workers"] + s1["cpu_ms_postgresql"] + s1["cpu_ms_other"]
    lines = [
        "Measured by:",
        "",
        "```sh",
        command,
        "```",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; workers: {args.processes} processes × "
        f"{args.threads} threads, one scheduler; batches of 500; load average "
        f"{load:.1f} when it began" + (" (the machine was shared: other work held most of "
                                       "its cores)." if load > cores else "."),
        "",
        "| scenario | figure | target | measured |",
        "|---|---|---|---|",
        f"| {name}: {s1['flows']:,} flows `action → wait 1 s → branch → action`{where} | "
        f"completed "
        f"flows/s | ≥ 3,000 | {s1['flows_per_s']:,.0f} |",
        f"| {name} | CPU per flow: workers + PostgreSQL + scheduler and emitter | | "
        f"{cpu_total:.2f} ms ({s1['cpu_ms_workers']:.2f} + {s1['cpu_ms_postgresql']:.2f} + "
        f"{s1['cpu_ms_other']:.2f}): at most {cores * 1000 / cpu_total:,.0f} flows/s on "
        f"{cores} cores given to it alone |",
        f"| {name} | timer lateness p99 | ≤ 1 s | {s1['lateness_p99']:.3f} s |",
    ]
    if not sqlite:
        lines.insert(-1, f"| S1 | database commits per flow (all transactions) | | "
                         f"{s1['commits_per_flow']:.3f} |")
    if "S2" in results:
        s2 = results["S2"]
        lines += [
            f"| S2: S1 while {s2['waiting']:,} runs wait 7 days | throughput ratio to S1 | "
            f"≥ 0.9 | {s2['ratio_to_s1']:.2f} ({s2['flows_per_s']:,.0f} flows/s) |",
            f"| S2 | worker RSS growth per 100,000 waiting runs, over the second half | "
            f"≤ 1 MiB | {s2['rss_growth_per_100k_mib']:.1f} MiB ({s2['rss_before_mib']:.1f} "
            f"→ {s2['rss_half_mib']:.1f} → {s2['rss_after_mib']:.1f} MiB, all worker "
            "processes) |",
            f"| S2 | timer lateness p99 | ≤ 1 s | {s2['lateness_p99']:.3f} s |",
        ]
    if "S3" in results:
        s3 = results["S3"]
        lines.append(f"| S3: {s3['timers']:,} timers due at once | fired/s | ≥ 5,000 | "
                     f"{s3['fired_per_s']:,.0f} |")
        if "cpu_ms_workers" in s3:
            per_timer = s3["cpu_ms_workers"] + s3["cpu_ms_postgresql"] + s3["cpu_ms_other"]
            lines.append(
                f"| S3 | CPU per timer: workers + PostgreSQL + scheduler and emitter | | "
                f"{per_timer:.2f} ms ({s3['cpu_ms_workers']:.2f} + "
                f"{s3['cpu_ms_postgresql']:.2f} + {s3['cpu_ms_other']:.2f}): at most "
                f"{cores * 1000 / per_timer:,.0f}/s on {cores} cores given to it alone |")
    if "L" in results:
        lat = results["L"]
        lines.append(f"| L: one event to its first action, idle | latency | ≤ 50 ms | "
                     f"median {lat['latency_p50'] * 1000:.1f} ms, p95 "
                     f"{lat['latency_p95'] * 1000:.1f} ms |")
    if "F" in results:
        f = results["F"]
        per_flow = f["cpu_ms_workers"] + f["cpu_ms_postgresql"] + f["cpu_ms_other"]
        lines.append(f"| F: S1's flow with the least a durable engine does (`bench/floor.py`), "
                     f"same workers and servers | flows/s | | {f['flows_per_s']:,.0f} "
                     f"(flowkit / floor = {s1['flows_per_s'] / f['flows_per_s']:.2f}); CPU "
                     f"per flow {per_flow:.2f} ms ({f['cpu_ms_workers']:.2f} + "
                     f"{f['cpu_ms_postgresql']:.2f} + {f['cpu_ms_other']:.2f}) |")
    if "B" in results:
        b = results["B"]
        lines.append(f"| B: S1 as a plain Dramatiq chain, delayed messages, not durable | "
                     f"flows/s | | {b['flows_per_s']:,.0f} (flowkit / chain = "
                     f"{s1['flows_per_s'] / b['flows_per_s']:.2f}) |")
    if results.get("D"):
        d = results["D"]
        lines.append(f"| D: S1 as a DBOS Transact workflow ({d['flows']:,} flows), "
                     f"{'on SQLite' if sqlite else 'same PostgreSQL'} | flows/s | | "
                     f"{d['flows_per_s']:,.0f} (flowkit / DBOS = "
                     f"{s1['flows_per_s'] / d['flows_per_s']:.1f}) |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=20_000)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--timers", type=int, default=50_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--no-floor", dest="floor", action="store_false",
                        help="skip F, S1's flow with the least durable work (bench/floor.py)")
    parser.add_argument("--rules", action="store_true",
                        help="turn the journey rules on (bench.flows.rules) in the workers")
    parser.add_argument("--dbos-flows", type=int, default=2_000,
                        help="flows for the DBOS baseline (0: skip it)")
    parser.add_argument("--write", default="docs/performance.md",
                        help="the page whose figures section (between the <!-- figures --> "
                             "markers) gets this run's figures")
    parser.add_argument("--no-write", dest="write", action="store_const", const=None)
    args = parser.parse_args()
    services_env = " ".join(f"{k}={os.environ[k]}" for k in ("DATABASE_URL", "REDIS_URL")
                            if os.environ.get(k))
    command = f"{services_env} python -m bench.run {' '.join(sys.argv[1:])}".strip()
    load = os.getloadavg()[0]
    with services() as (pg, rd):
        results = Bench(pg, rd, args).run()
    text = report(results, args, command, load)
    print(text)
    if args.write:
        write_figures(Path(args.write), text)


def write_figures(page: Path, figures: str) -> None:
    """Put ``figures`` between the page's figures markers, keeping the rest of it."""
    start, end = "<!-- figures -->", "<!-- /figures -->"
    text = page.read_text() if page.exists() else "# Performance\n\n"
    block = f"{start}\n{figures}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    page.write_text(text)


if __name__ == "__main__":
    main()
