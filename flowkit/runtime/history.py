"""A run's history: entries added as it moves, and the records the engine reports
(``Engine.runs`` and ``Engine.actions``)."""

from __future__ import annotations

from typing import Any

import pendulum
import sqlalchemy as sa

from flowkit import _json
from flowkit.machine import HistoryEntry
from flowkit.runtime.batch import Batch
from flowkit.runtime.records import ActionRecord, HistoryRecord, RunRecord
from flowkit.store import Store
from flowkit.store import schema as t


def add(batch: Batch, run_id: str, entry: HistoryEntry) -> None:
    """Add ``entry`` to the run's history, written with the batch."""
    at = batch.now_text if entry.at is batch.now else entry.at.isoformat()
    batch.changes.history.setdefault(run_id, []).append(
        {"at": at, "kind": entry.kind, "step": entry.step, "detail": entry.detail})
    batch.changes.history_at[run_id] = entry.at


def run_records(conn: sa.Connection, store: Store, user: str | None = None,
                flow: str | None = None) -> list[RunRecord]:
    """Every run (of ``user``, of ``flow``), oldest first, with its history."""
    rows = store.find_runs(conn, user_id=user, flow=flow)
    history = store.history(conn, [r.id for r in rows])
    ids = [r.id for r in rows]
    timers = {r.run_id: r.due_at for r in conn.execute(
        sa.select(t.timers).where(t.timers.c.run_id.in_(ids)))} if ids else {}
    waits = store.event_waits(conn, {r.user_id for r in rows})
    return [
        RunRecord(
            id=r.id, flow=r.flow, user=r.user_id, status=r.status, step=r.step,
            version=r.version, reason=r.reason, locals=_readable(r.locals),
            event=r.trigger, created_at=r.created_at, updated_at=r.updated_at,
            history=tuple(HistoryRecord(_moment(h["at"]), h["kind"], h["step"],
                                        h["detail"]) for h in history[r.id]),
            wakes_at=timers.get(r.id),
            waits_for=waits[r.id][0] if r.id in waits else None,
        )
        for r in rows
    ]


def action_records(conn: sa.Connection, store: Store, user: str | None = None,
                   name: str | None = None, run: str | None = None) -> list[ActionRecord]:
    """Every action that ran (for ``user``, named ``name``, in ``run``), in order."""
    rows = store.actions(conn, user_id=user, action=name, run_id=run)
    return [ActionRecord(key=r["key"], name=r["action"], args=r["args"],
                         user=r["user_id"], run=r["run_id"], flow=r["flow"],
                         step=r["step"], at=r["at"], result=r["result"]) for r in rows]


def _readable(values: dict[str, Any]) -> dict[str, Any]:
    """The locals decoded; as stored when they do not decode (their run is parked)."""
    try:
        return _json.from_jsonable(values)  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return values


def _moment(text: str) -> pendulum.DateTime:
    moment = pendulum.parse(text)
    assert isinstance(moment, pendulum.DateTime)
    return moment.in_timezone("UTC")
