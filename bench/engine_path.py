"""The engine's normal path in one process, no workers: how long routing N events and
firing N timers take on PostgreSQL. For measuring changes to the engine's batch path
(isolation, savepoints) without the noise of worker processes.

    python -m bench.engine_path --flows 5000 --repeat 3

S1's flow (`action -> wait 1 s -> branch -> action`): N events routed inline in batches
of 500 (each starts a run and runs its first action), then the clock moves 1 s and N
timers fire (the branch and the second action). Prints the best of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import os
import time

import pendulum
import sqlalchemy as sa

from bench import flows

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


def one_round(url: str, n: int) -> tuple[float, float, float, float]:
    import flowkit.lms.tables  # noqa: F401  (dropped and rebuilt too)
    from flowkit import Engine
    from flowkit.clock import VirtualClock
    from flowkit.store import schema

    db = sa.create_engine(url)
    schema.metadata.drop_all(db)
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    db.dispose()
    clock = VirtualClock(START)
    with Engine(url, [flows.s1], clock=clock, migrate=True) as engine:
        events = [{"event": "bench.s1", "user": f"u-{i}"} for i in range(n)]
        began, cpu = time.perf_counter(), time.process_time()
        engine.emit_many(events)
        routed, routed_cpu = time.perf_counter() - began, time.process_time() - cpu
        clock.set(START.add(seconds=2))
        began, cpu = time.perf_counter(), time.process_time()
        engine.tick()
        fired, fired_cpu = time.perf_counter() - began, time.process_time() - cpu
        done = sum(r.status == "completed" for r in engine.runs())
        assert done == n, f"{done} of {n} runs completed"
    return routed, fired, routed_cpu, fired_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ["DATABASE_URL"]
    rounds = [one_round(url, args.flows) for _ in range(args.repeat)]
    routed, fired, routed_cpu, fired_cpu = (min(r[i] for r in rounds) for i in range(4))
    print(f"{args.flows} events routed in {routed:.3f} s ({args.flows / routed:,.0f}/s, "
          f"{routed_cpu:.3f} s of this process's CPU); {args.flows} timers fired in "
          f"{fired:.3f} s ({args.flows / fired:,.0f}/s, {fired_cpu:.3f} s CPU); "
          f"best of {args.repeat}")


if __name__ == "__main__":
    main()
