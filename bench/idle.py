"""What idle workers cost: flowkit's worker processes started with nothing to do, their
CPU (the parent's included) and Redis's, read from ``/proc`` over a few seconds.

    python -m bench.idle                  # 1, 2 and 4 processes of 4 threads
    dramatiq_worker_timeout=25 python -m bench.idle --processes 2

An idle consumer waits in Redis for a send (flowkit.runtime.broker) and looks at its
queue again only after ``dramatiq_worker_timeout`` milliseconds (Dramatiq's default,
1000) without one. Uses ``DATABASE_URL`` and ``REDIS_URL`` as ``bench.run`` does
(embedded ones without them); the database is reset. Redis's CPU is read only when its
server runs on this machine, and it includes whatever else uses that server.
"""

from __future__ import annotations

import argparse
import os
import time

import redis

from bench.run import ROOT, Workers, process_cpu, reset_database, services


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=(1, 2, 4))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with services() as (pg, rd):
        reset_database(pg).dispose()
        redis_pid = int(redis.Redis.from_url(rd).info("server")["process_id"])
        env = dict(os.environ, DATABASE_URL=pg, REDIS_URL=rd,
                   FLOWKIT_FLOWS="bench.flows", FLOWKIT_LOG_LEVEL="WARNING",
                   PYTHONPATH=str(ROOT))
        for processes in args.processes:
            workers = Workers("flowkit.runtime.worker", env, processes, args.threads)
            try:
                time.sleep(8)  # started, imports done, consumers waiting for a send
                before = workers.cpu(), process_cpu(redis_pid)
                time.sleep(args.seconds)
                share = (workers.cpu() - before[0]) / args.seconds
                in_redis = (process_cpu(redis_pid) - before[1]) / args.seconds
            finally:
                workers.stop()
            print(f"{processes} idle worker process(es) x {args.threads} threads: "
                  f"{share:.1%} of a core, Redis {in_redis:.1%}", flush=True)


if __name__ == "__main__":
    main()
