"""The DBOS Transact baseline: S1's flow as a DBOS workflow on the same PostgreSQL
server (its own database), or in a SQLite file beside flowkit's, run by bench/run.py
when the `bench` extra is installed.

    python -m bench.dbos_baseline --flows 20000 --database-url postgresql://...

Prints one line: `flows seconds`. DBOS runs workflows on threads in this one process;
its durable sleep holds a thread for the length of the wait.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig


def system_database(flowkit_url: str) -> str:
    """A fresh database for DBOS beside flowkit's: on the same PostgreSQL server, or a
    SQLite file next to flowkit's (S5, the embedded default)."""
    if flowkit_url.startswith("sqlite"):
        path = Path(sa.make_url(flowkit_url).database or "flowkit.db")
        dbos = path.with_name(f"{path.stem}_dbos.sqlite")
        dbos.unlink(missing_ok=True)
        return f"sqlite:///{dbos}"
    server = sa.make_url(flowkit_url).set(drivername="postgresql+psycopg")
    name = f"{server.database}_dbos"
    admin = sa.create_engine(server)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return server.set(drivername="postgresql", database=name).render_as_string(
        hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=20_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--threads", type=int, default=1000)
    args = parser.parse_args()

    config: DBOSConfig = {"name": "flowkit-bench",
                          "system_database_url": system_database(args.database_url),
                          "log_level": "WARNING", "max_executor_threads": args.threads}
    DBOS(config=config)

    @DBOS.step()
    def step(label: str) -> str:
        return label

    @DBOS.workflow()
    def flow(user: int) -> str:
        step("first")
        DBOS.sleep(1)
        return step("even" if user % 2 == 0 else "odd")

    DBOS.launch()
    began = time.perf_counter()
    handles = [DBOS.start_workflow(flow, i) for i in range(args.flows)]
    for handle in handles:
        handle.get_result()
    seconds = time.perf_counter() - began
    print(args.flows, seconds, flush=True)
    DBOS.destroy()


if __name__ == "__main__":
    main()
