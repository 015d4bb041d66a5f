"""What each part of a durable flow costs: S1's flow run inline (``bench.engine_path``)
with one part of flowkit's work switched off at a time, against flowkit as it is.

    python -m bench.costs --flows 3000 --rounds 3

Each variant switches off something flowkit does for a guarantee or for its users (the
history, the action ledger, foreign keys, the console's indexes, reading users), so the
difference is what that part costs a flow, in this process's Python and in PostgreSQL's
processes. The variants run in turn, round after round, and the median of each is
printed: the machine's speed moves by 10-15 % from minute to minute, far more than most
parts cost. A measurement only: none of these is an option of flowkit.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any
from unittest import mock

import sqlalchemy as sa

from bench.engine_path import one_round


def _ddl(*statements: str) -> Callable[[sa.Engine], None]:
    def run(db: sa.Engine) -> None:
        with db.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    return run


@contextmanager
def _no_ledger() -> Iterator[None]:
    from flowkit.store.repository import Store

    write = Store.write

    def without_actions(self: Store, conn: sa.Connection, changes: Any) -> None:
        changes.actions = []
        write(self, conn, changes)

    with mock.patch.object(Store, "write", without_actions):
        yield


@contextmanager
def _no_users() -> Iterator[None]:
    from flowkit.context import User
    from flowkit.runtime.batch import Batch

    def bare(self: Batch, user_ids: Any) -> None:
        for uid in user_ids:
            self.users.setdefault(uid, User(id=uid, platform=self.platform))

    with mock.patch.object(Batch, "load_users", bare):
        yield


def _nothing(*_: Any) -> None:
    return None  # a plain function: a Mock would record every call, and cost more


# name -> (a patch around the round, DDL after the schema is made)
VARIANTS: dict[str, tuple[Callable[[], AbstractContextManager[Any]],
                          Callable[[sa.Engine], None] | None]] = {
    "flowkit as it is": (nullcontext, None),
    "no history rows": (lambda: mock.patch("flowkit.runtime.history.add", _nothing), None),
    "no action ledger rows": (_no_ledger, None),
    "no foreign keys (timers, event waits -> runs)": (nullcontext, _ddl(
        "ALTER TABLE flowkit_timers DROP CONSTRAINT fk_flowkit_timers_run_id_flowkit_runs",
        "ALTER TABLE flowkit_event_waits DROP CONSTRAINT "
        "fk_flowkit_event_waits_run_id_flowkit_runs")),
    "no console indexes on runs (5 of 7)": (nullcontext, _ddl(
        "DROP INDEX ix_flowkit_runs_status_updated_at", "DROP INDEX ix_flowkit_runs_flow_status",
        "DROP INDEX ix_flowkit_runs_created_at_flow", "DROP INDEX ix_flowkit_runs_resting",
        "DROP INDEX ix_flowkit_runs_problems")),
    "no users read (bare users)": (_no_users, None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ["DATABASE_URL"]
    python: dict[str, list[float]] = {name: [] for name in VARIANTS}
    database: dict[str, list[float]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for number in range(args.rounds):
        # each round in another order, so that none is always first after a pause
        for name in names[number % len(names):] + names[:number % len(names)]:
            patch, ddl = VARIANTS[name]
            with patch():
                _, _, routed_cpu, fired_cpu, routed_pg, fired_pg = one_round(
                    url, args.flows, after_setup=ddl)
            python[name].append((routed_cpu + fired_cpu) * 1000 / args.flows)
            database[name].append((routed_pg + fired_pg) * 1000 / args.flows)
            print(f"round {number + 1}: {name}: {python[name][-1]:.3f} ms Python, "
                  f"{database[name][-1]:.3f} ms PostgreSQL per flow", flush=True)
    base_py = statistics.median(python["flowkit as it is"])
    base_pg = statistics.median(database["flowkit as it is"])
    print(f"\nS1's flow inline, {args.flows:,} flows, median of {args.rounds} rounds "
          "(ms of CPU per flow):\n")
    print("| variant | Python | PostgreSQL | total | saved |")
    print("|---|---|---|---|---|")
    for name in VARIANTS:
        py, pg = statistics.median(python[name]), statistics.median(database[name])
        saved = (base_py + base_pg) - (py + pg)
        print(f"| {name} | {py:.3f} | {pg:.3f} | {py + pg:.3f} | "
              f"{'' if name == 'flowkit as it is' else f'{saved:+.3f}'} |")


if __name__ == "__main__":
    main()
