"""The engine's normal path in one process, no workers: how long routing N events and
firing N timers take on PostgreSQL. For measuring changes to the engine's batch path
(isolation, savepoints) without the noise of worker processes.

    python -m bench.engine_path --flows 5000 --repeat 3

S1's flow (`action -> wait 1 s -> branch -> action`): N events routed inline in batches
of 500 (each starts a run and runs its first action), then the clock moves 1 s and N
timers fire (the branch and the second action). Prints the best of ``--repeat`` rounds,
with the CPU this process and, when PostgreSQL runs on this machine (its processes'
/proc readable), the database's server processes spent on each phase: the figures
behind the capacity model in docs/operations.md.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import pendulum
import sqlalchemy as sa

from bench import flows

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


def server_cpu(db: sa.Engine) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process connected to ``db``'s database
    (none on SQLite, which runs in this process)."""
    if db.dialect.name != "postgresql":
        return {}
    with db.connect() as conn:
        pids = conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalars().all()
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def one_round(url: str, n: int, batch_size: int = 500,
              after_setup: Callable[[sa.Engine], None] | None = None) -> tuple[float, ...]:
    """One round: routing and firing ``n`` flows; ``after_setup`` (given the database)
    runs once the schema is made, before the first event."""
    import flowkit.lms.tables  # noqa: F401  (dropped and rebuilt too)
    from flowkit import Engine
    from flowkit.clock import VirtualClock
    from flowkit.store import schema

    db = sa.create_engine(url)
    schema.metadata.drop_all(db)
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    clock = VirtualClock(START)
    with Engine(url, [flows.s1], clock=clock, migrate=True, batch_size=batch_size) as engine:
        if after_setup is not None:
            after_setup(db)
        events = [{"event": "bench.s1", "user": f"u-{i}"} for i in range(n)]
        server = server_cpu(db)
        began, cpu = time.perf_counter(), time.process_time()
        engine.emit_many(events)
        routed, routed_cpu = time.perf_counter() - began, time.process_time() - cpu
        server, routed_pg = server_cpu(db), spent(server, server_cpu(db))
        clock.set(START.add(seconds=2))
        began, cpu = time.perf_counter(), time.process_time()
        engine.tick()
        fired, fired_cpu = time.perf_counter() - began, time.process_time() - cpu
        fired_pg = spent(server, server_cpu(db))
        with db.connect() as conn:  # counted, not read: reading costs more than the flows
            done = conn.execute(sa.text(
                "SELECT count(*) FROM flowkit_runs WHERE status = 'completed'")).scalar_one()
        assert done == n, f"{done} of {n} runs completed"
    db.dispose()
    return routed, fired, routed_cpu, fired_cpu, routed_pg, fired_pg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ["DATABASE_URL"]
    rounds = [one_round(url, args.flows, args.batch_size) for _ in range(args.repeat)]
    routed, fired, routed_cpu, fired_cpu, routed_pg, fired_pg = (
        min(r[i] for r in rounds) for i in range(6))
    print(f"{args.flows} events routed in {routed:.3f} s ({args.flows / routed:,.0f}/s, "
          f"{routed_cpu:.3f} s of this process's CPU, {routed_pg:.3f} s PostgreSQL's); "
          f"{args.flows} timers fired in {fired:.3f} s ({args.flows / fired:,.0f}/s, "
          f"{fired_cpu:.3f} s CPU, {fired_pg:.3f} s PostgreSQL's); best of {args.repeat}, "
          f"batches of {args.batch_size}")


if __name__ == "__main__":
    main()
