"""Claiming due timers reads them in order off an index, however many share a due time
(a batch's timers all do): no sort of every due timer on each claim."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine, Run, on, wait
from flowkit.serve.ingest import DeferredDispatcher
from flowkit.store import Store


@on("cohort.started")
async def cohort(run: Run) -> None:
    await wait(days=1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the plan asked about is PostgreSQL's")
    with Engine(database_url, [cohort], dispatcher=DeferredDispatcher()) as engine:
        yield engine


def _claim_statement(engine: Engine, now: pendulum.DateTime) -> tuple[str, Any]:
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine.db, "before_cursor_execute", grab)
    try:
        with engine.db.begin() as conn:
            Store(engine.db).claim_due_timers(conn, now, 500)
            conn.rollback()
    finally:
        sa.event.remove(engine.db, "before_cursor_execute", grab)
    return next((s, p) for s, p in seen if "FROM flowkit_timers" in s)


def test_a_claim_reads_the_timers_index_in_order_without_sorting_them(
        engine: Engine) -> None:
    for start in range(0, 3000, 500):
        engine.emit_many([{"event": "cohort.started", "user": f"u{n}"}
                          for n in range(start, start + 500)])
        engine.route()
    with engine.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE flowkit_timers")
        due = conn.exec_driver_sql("SELECT count(DISTINCT due_at) FROM flowkit_timers")
        assert due.scalar_one() <= 6  # a due time a batch: thousands share each one
    statement, parameters = _claim_statement(engine, engine.clock.now().add(days=2))
    with engine.db.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    assert "ix_flowkit_timers_due_at_run_id" in plan, plan
    assert "Sort" not in plan, plan
