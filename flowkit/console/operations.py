"""The console's repairs: retry, migrate and end runs, each written in the run's history
with who asked and when.

Retry and migrate are the engine's own (``Engine.retry``, ``Engine.migrate``, what
``flowkit runs retry|migrate`` call). The record of who asked is an ``operator`` entry in
the run's history: for retry and end it is written first, so the timeline reads "alice
retried" then what the retry did (and taken back if the engine refuses); for migrate,
which moves a set of runs found by the engine, it is written for each run moved.

``end_run`` ends one run through the runtime's ``end_runs``, what ``flowkit runs end``
calls.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from flowkit.console.auth import Session
from flowkit.errors import RunStatusError, UnknownRunError
from flowkit.runtime.engine import Engine
from flowkit.runtime.operations import ENDABLE, Selection, end_runs
from flowkit.store import Changes, database
from flowkit.store import schema as t


def _entry(engine: Engine, action: str, who: Session, step: str | None,
           **detail: Any) -> dict[str, Any]:
    return {"at": engine.clock.now().isoformat(), "kind": "operator", "step": step,
            "detail": {"action": action, "by": who.name, "role": who.role, "via": "console",
                       **detail}}


def _record(engine: Engine, conn: sa.Connection, run_id: str, entries: list[dict[str, Any]]
            ) -> None:
    changes = Changes(history={run_id: entries}, history_at={run_id: engine.clock.now()})
    engine.store.write(conn, changes)


def _step_of(engine: Engine, run_id: str) -> str | None:
    with database.reading(engine.db) as conn:
        row = engine.store.runs(conn, [run_id]).get(run_id)
    if row is None:
        raise UnknownRunError(f"no run has the id {run_id!r}")
    return row.step


def retry(engine: Engine, run_id: str, who: Session) -> None:
    """Run again the step a parked or failed run stopped at (``Engine.retry``)."""
    step = _step_of(engine, run_id)
    with engine.db.begin() as conn:
        _record(engine, conn, run_id, [_entry(engine, "retry", who, step)])
        mark = conn.execute(sa.select(sa.func.max(t.history.c.id))
                            .where(t.history.c.run_id == run_id)).scalar_one()
    try:
        engine.retry(run_id)
    except (UnknownRunError, RunStatusError):
        with engine.db.begin() as conn:
            conn.execute(sa.delete(t.history).where(t.history.c.id == mark))
        raise


def migrate(engine: Engine, flow: str, from_step: str, to_step: str, who: Session
            ) -> list[str]:
    """Move the runs of ``flow`` waiting or parked at ``from_step`` to ``to_step``
    (``Engine.migrate``); returns the runs moved."""
    moved = engine.migrate(flow, from_step, to_step)
    with engine.db.begin() as conn:
        for run_id in moved:
            _record(engine, conn, run_id, [_entry(engine, "migrate", who, to_step,
                                                  **{"from": from_step, "to": to_step})])
    return moved


def end_run(engine: Engine, run_id: str, who: Session, reason: str) -> None:
    """End a live, parked or failed run now, as ``flowkit runs end`` does (one way to end
    runs): ``exited``, its timer and event wait gone, who and why in its history."""
    with engine.db.begin() as conn:
        row = engine.store.runs(conn, [run_id]).get(run_id)
    if row is None:
        raise UnknownRunError(f"no run has the id {run_id!r}")
    if row.status not in ENDABLE:
        raise RunStatusError(f"run {run_id} is {row.status}; only a run that waits, "
                             "runs, is parked or failed can be ended")
    ended = end_runs(engine, Selection(runs=(run_id,)), reason=reason or "no reason given",
                     by=who.name, how="in the console")
    if not ended:  # it finished or was ended between the look and the end
        raise RunStatusError(f"run {run_id} is no longer waiting, running, parked or "
                             "failed; nothing was ended")
