"""S4: kill -9 one worker process during S1 under `flowkit run`.

    python -m bench.s4 --flows 10000       # figures printed; docs/reliability.md has them

S1's flow (`action -> wait 1 s -> branch -> action`) runs twice under one `flowkit run`
(which restarts what dies): once undisturbed, once with one worker process killed with
-9 when a quarter of the flows have completed. Reported: how long after the kill the
completion rate is back for good to 90% of the undisturbed run's (target ≤ 10 s;
measured over one-second windows), when the supervisor had the worker running again,
and S1's total time with the fault against the undisturbed run.

Uses DATABASE_URL and REDIS_URL when set (else embedded servers, as bench.run does); the
database's flowkit tables are dropped and rebuilt first.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bench.run import ROOT, reset_database, services, wait_for


class System:
    """`flowkit run` over the benchmark's flows."""

    def __init__(self, pg: str, rd: str, processes: int, threads: int, log: Path) -> None:
        env = dict(os.environ, DATABASE_URL=pg, REDIS_URL=rd, FLOWKIT_LOG_LEVEL="WARNING",
                   PYTHONPATH=str(ROOT))
        self.out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flowkit.cli", "run", "--flows", "bench.flows",
             "--processes", str(processes), "--threads", str(threads)],
            env=env, cwd=ROOT, stdout=self.out, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.log = log
        wait_for(lambda: len(self.children()) >= processes + 1, 60, "flowkit run")

    def children(self) -> list[int]:
        pid = self.proc.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text()
                    .split()]
        except OSError:
            return []

    def a_worker(self) -> int:
        for pid in self.children():
            if "worker" in Path(f"/proc/{pid}/cmdline").read_text():
                return pid
        raise LookupError("no worker")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)
        self.out.close()


class S4:
    def __init__(self, pg: str, rd: str) -> None:
        os.environ["REDIS_URL"] = rd
        import bench.flows as flows
        import flowkit.lms.tables  # noqa: F401  (so that the reset drops them too)
        from flowkit import Engine
        from flowkit.runtime import worker

        self.db = reset_database(pg)
        self.engine = Engine(pg, [flows.s1], dispatcher=worker.DramatiqDispatcher())

    def completed(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM flowkit_runs WHERE flow = 's1' "
                "AND status = 'completed'")).scalar_one())

    def phase(self, users: range, kill: System | None = None) -> dict[str, float]:
        """Emit ``users``' S1 flows and wait for them, sampling completions; with
        ``kill``, kill -9 one of its workers once a quarter have completed."""
        before = self.completed()
        began = time.perf_counter()
        for start in range(users.start, users.stop, 5000):
            self.engine.emit_many([{"event": "bench.s1", "user": f"user-{i}"}
                                   for i in range(start, min(start + 5000, users.stop))])
        samples: list[tuple[float, int]] = []
        killed_at = back_at = None
        n = len(users)
        while (done := self.completed() - before) < n:
            now = time.perf_counter() - began
            samples.append((now, done))
            if kill is not None and killed_at is None and done >= n // 4:
                victim = kill.a_worker()
                os.kill(victim, signal.SIGKILL)
                killed_at = now
                wait_for(lambda v=victim: v not in kill.children()  # type: ignore[misc]
                         and len(kill.children()) >= 3, 60, "the worker's restart")
                back_at = time.perf_counter() - began
            time.sleep(0.1)
        total = time.perf_counter() - began
        return {"flows": n, "seconds": total, "flows_per_s": n / total,
                "killed_at": killed_at or 0.0, "worker_back_at": back_at or 0.0,
                "samples": samples}  # type: ignore[dict-item]


def _rate(samples: list[tuple[float, int]], start: float, end: float) -> float:
    inside = [(t, d) for t, d in samples if start <= t <= end]
    if len(inside) < 2:
        return 0.0
    (t0, d0), (t1, d1) = inside[0], inside[-1]
    return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0


def recovery(plain: dict[str, float], faulty: dict[str, float]) -> float:
    """Seconds from the kill until the completion rate is back for good: the end of the
    last one-second window (before the run's last tenth, where every run's rate falls)
    whose rate is under 90% of the undisturbed run's over its middle half; 0 if none."""
    samples: list[tuple[float, int]] = faulty["samples"]  # type: ignore[assignment]
    steady = _rate(plain["samples"], plain["seconds"] * 0.25,  # type: ignore[arg-type]
                   plain["seconds"] * 0.75)
    killed = faulty["killed_at"]
    tail = next(t for t, done in samples if done >= 0.9 * faulty["flows"]) if any(
        done >= 0.9 * faulty["flows"] for _, done in samples) else faulty["seconds"]
    back, t = killed, killed
    while t + 1.0 <= tail:
        if _rate(samples, t, t + 1.0) < 0.9 * steady:
            back = t + 1.0
        t += 0.1
    return back - killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with services() as (pg, rd):
        bench = S4(pg, rd)
        system = System(pg, rd, args.processes, args.threads, Path("/tmp/flowkit-s4.log"))
        try:
            bench.phase(range(10_000_000, 10_000_500))  # warm-up
            plain = bench.phase(range(0, args.flows))
            faulty = bench.phase(range(args.flows, 2 * args.flows), kill=system)
        finally:
            system.stop()
            bench.engine.close()
    back = recovery(plain, faulty)
    print(f"S1 without a fault: {plain['flows']:,} flows in {plain['seconds']:.1f} s "
          f"({plain['flows_per_s']:,.0f}/s)")
    print(f"S4, S1 with one worker killed -9 at {faulty['killed_at']:.1f} s: "
          f"{faulty['flows']:,} flows in {faulty['seconds']:.1f} s "
          f"({faulty['seconds'] / plain['seconds']:.2f}× the undisturbed time); the "
          f"supervisor had the worker running again "
          f"{faulty['worker_back_at'] - faulty['killed_at']:.1f} s after the kill; "
          f"throughput back to 90% of undisturbed {back:.1f} s after it (target ≤ 10 s)")


if __name__ == "__main__":
    main()
