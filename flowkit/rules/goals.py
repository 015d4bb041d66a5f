"""Goals: each event that is some flow's goal converts the user's runs of that flow
that have not converted yet, if it comes within the goal's window of the run's start,
whether the run is still going or has ended. A live run whose goal says ``ends_run``
ends, as an exit would. Conversions are rows of ``flowkit_conversions``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from flowkit.machine import HistoryEntry
from flowkit.runtime import history, transitions
from flowkit.runtime.batch import Batch
from flowkit.store import LIVE, RunRow
from flowkit.store import schema as t


def observe(batch: Batch, key: str, name: str, user_id: str,
            payload: dict[str, Any]) -> None:
    """Record the conversions the event ``name`` makes among ``user_id``'s runs."""
    candidates = [r for r in batch.runs_by_user[user_id] if _converts(batch, r, name, payload)]
    if not candidates:
        return
    done = set(batch.conn.execute(sa.select(t.conversions.c.run_id).where(
        t.conversions.c.run_id.in_([r.id for r in candidates]))).scalars())
    for row in candidates:
        if row.id in done:
            continue
        goal = batch.rt.flows[row.flow].rules.goal
        assert goal is not None
        batch.conn.execute(t.conversions.insert().values(
            run_id=row.id, flow=row.flow, user_id=user_id, goal=goal.describe(),
            event_key=key, converted_at=batch.now))
        if goal.ends_run and row.status in LIVE:
            transitions.exit_run(batch, row, f"reached its goal: {goal.describe()}")
        else:
            history.add(batch, row.id, HistoryEntry(batch.now, "converted", row.step,
                                                    {"goal": goal.describe()}))


def _converts(batch: Batch, row: RunRow, name: str, payload: dict[str, Any]) -> bool:
    flow = batch.rt.flows.get(row.flow)
    goal = flow.rules.goal if flow is not None else None
    if goal is None or goal.event != name:
        return False
    if goal.within is not None and batch.now - row.created_at > goal.within:
        return False
    try:
        return goal.matches(row.trigger, payload)
    except Exception:
        return False  # a condition that cannot read the event: not a conversion
