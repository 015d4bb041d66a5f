"""What idle workers cost: flowkit's worker processes started with nothing to do, their
CPU (the parent's included) read from ``/proc`` over a few seconds.

    python -m bench.idle                  # 1, 2 and 4 processes of 4 threads
    dramatiq_worker_timeout=1000 python -m bench.idle --processes 2

An idle worker is not asleep: Dramatiq's Redis consumer looks at each of its queues
every ``dramatiq_worker_timeout`` milliseconds (25, as flowkit runs it, so that a lone
event is picked up at once), and each look is a script run in Redis. Uses
``DATABASE_URL`` and ``REDIS_URL`` as ``bench.run`` does (embedded ones without them);
the database is reset.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.run import ROOT, Workers, reset_database, services
from flowkit.runtime.services import WORKER_ENV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=(1, 2, 4))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with services() as (pg, rd):
        reset_database(pg).dispose()
        # dramatiq_worker_timeout from the environment if set there, else flowkit's
        env = dict({**WORKER_ENV, **os.environ}, DATABASE_URL=pg, REDIS_URL=rd,
                   FLOWKIT_FLOWS="bench.flows", FLOWKIT_LOG_LEVEL="WARNING",
                   PYTHONPATH=str(ROOT))
        for processes in args.processes:
            workers = Workers("flowkit.runtime.worker", env, processes, args.threads)
            try:
                time.sleep(8)  # started, imports done, consumers polling
                before = workers.cpu()
                time.sleep(args.seconds)
                share = (workers.cpu() - before) / args.seconds
            finally:
                workers.stop()
            print(f"{processes} idle worker process(es) x {args.threads} threads: "
                  f"{share:.1%} of a core", flush=True)


if __name__ == "__main__":
    main()
