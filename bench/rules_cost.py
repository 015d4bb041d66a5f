"""What the journey rules cost per S1 flow, in one process (no workers, no Redis).

    DATABASE_URL=postgresql://.../a_database_you_can_wipe python -m bench.rules_cost

S1's flow (`message -> wait 1 s -> branch -> message`) runs inline on a virtual clock:
events routed and first messages sent in batches of 500, then the timers fired. Each
round runs it with the rules off and on (quiet hours that let every message through
and a daily email cap no user reaches, as `bench.run --rules`), alternating, on a
freshly emptied database; the median of the rounds is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pendulum

from bench import flows
from bench.run import reset_database
from flowkit import Engine
from flowkit.clock import VirtualClock
from flowkit.rules import Rules


def one_round(url: str, n: int, rules: Rules, offset: int) -> tuple[float, float]:
    """Seconds per flow for ``n`` S1 flows under ``rules``: wall clock, and this
    process's CPU time (steadier on a shared machine; the database's share is not in
    it)."""
    reset_database(url).dispose()
    clock = VirtualClock(pendulum.datetime(2026, 3, 2, 12, tz="UTC"))
    with Engine(url, [flows.s1], clock=clock, rules=rules) as engine:
        began, cpu = time.perf_counter(), time.process_time()
        for start in range(0, n, 500):
            engine.emit_many([{"event": "bench.s1", "user": f"user-{offset + i}"}
                              for i in range(start, min(start + 500, n))])
        clock.set(clock.now().add(seconds=2))
        engine.tick()
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        done = sum(r.status == "completed" for r in engine.runs(flow="s1"))
        assert done == n, f"{done} of {n} flows completed"
    return seconds / n, cpu / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    for r in range(args.rounds):
        off.append(one_round(url, args.flows, Rules(), 0))
        on.append(one_round(url, args.flows, flows.rules, 0))
        print(f"round {r + 1}: rules off {off[-1][0] * 1000:.3f} ms/flow "
              f"(cpu {off[-1][1] * 1000:.3f}), on {on[-1][0] * 1000:.3f} ms/flow "
              f"(cpu {on[-1][1] * 1000:.3f})", flush=True)
    for i, what in ((0, "wall"), (1, "cpu ")):
        a = statistics.median(x[i] for x in off)
        b = statistics.median(x[i] for x in on)
        print(f"median {what}: off {a * 1000:.3f} ms/flow ({1 / a:,.0f}/s), "
              f"on {b * 1000:.3f} ms/flow ({1 / b:,.0f}/s): {100 * (b / a - 1):+.1f}%")


if __name__ == "__main__":
    main()
