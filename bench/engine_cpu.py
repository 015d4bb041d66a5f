"""The engine's normal path as this process's CPU time, on SQLite in memory: a figure
the other load on a shared machine barely moves, for comparing two versions of the
engine's batch path.

    python -m bench.engine_cpu --flows 5000 --repeat 5

S1's flow: N events routed inline (``emit_many``), then their N timers fired
(``tick``); prints the best of ``--repeat`` rounds of each.
"""

from __future__ import annotations

import argparse
import time

import pendulum

from bench import flows

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


def one_round(n: int) -> tuple[float, float]:
    from flowkit import Engine
    from flowkit.clock import VirtualClock

    clock = VirtualClock(START)
    with Engine("sqlite:///:memory:", [flows.s1], clock=clock) as engine:
        events = [{"event": "bench.s1", "user": f"u-{i}"} for i in range(n)]
        began = time.process_time()
        engine.emit_many(events)
        routed = time.process_time() - began
        clock.set(START.add(seconds=2))
        began = time.process_time()
        engine.tick()
        fired = time.process_time() - began
    return routed, fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rounds = [one_round(args.flows) for _ in range(args.repeat)]
    print(f"route {min(r[0] for r in rounds):.3f} s CPU, tick {min(r[1] for r in rounds):.3f}"
          f" s CPU ({args.flows} each, SQLite in memory, best of {args.repeat})")


if __name__ == "__main__":
    main()
