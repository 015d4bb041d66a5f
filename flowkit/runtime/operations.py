"""Operations on runs a person asks for: finding runs and ending them.

``end_runs`` ends the runs a ``Selection`` names (by flow, step, user or run id), in
one transaction: each becomes ``exited`` with who ended it and why as its reason and in
its history, and its timer and event wait are removed, so nothing resumes it. It reads
and writes rows only, never the flows' code, so it ends runs of a flow the code no
longer has (``flowkit runs end``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import sqlalchemy as sa

from flowkit.errors import UnknownRunError
from flowkit.store import Changes, RunRow, database
from flowkit.store import schema as t

if TYPE_CHECKING:
    from flowkit.runtime.engine import Engine

ENDABLE = ("waiting", "running", "parked", "failed")


@attrs.frozen
class Selection:
    """Runs by flow, step, user and id (a full id or its first characters); each
    given field must match, and at least one must be given."""

    flow: str | None = None
    step: str | None = None
    user: str | None = None
    runs: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if not (self.flow or self.step or self.user or self.runs):
            raise UnknownRunError("say which runs: a run id, --flow, --step or --user")

    def matches(self, row: RunRow) -> bool:
        return ((self.flow is None or row.flow == self.flow)
                and (self.step is None or row.step == self.step)
                and (self.user is None or row.user_id == self.user)
                and (not self.runs or any(row.id.startswith(r) for r in self.runs)))

    def describe(self) -> str:
        parts = [*self.runs, *(f"--{k} {v}" for k, v in (
            ("flow", self.flow), ("step", self.step), ("user", self.user)) if v)]
        return " ".join(parts)


@attrs.frozen
class Ended:
    """A run ended (or, in a dry run, that would be)."""

    id: str
    flow: str
    user: str
    status: str  # its status before
    step: str | None


def end_runs(engine: Engine, selection: Selection, *, reason: str, by: str,
             dry_run: bool = False, how: str = "with `flowkit runs end`") -> list[Ended]:
    """End the live, parked or failed runs ``selection`` names; return them. ``by`` and
    ``how`` (the command or page used) go into each run's reason."""
    now = engine.clock.now()
    store = engine.store
    with engine.db.begin() as conn:
        found = [r for r in _candidates(conn, engine, selection) if selection.matches(r)]
        locked = store.runs(conn, [r.id for r in found], lock=not dry_run)
        rows = [r for r in locked.values() if r.status in ENDABLE and selection.matches(r)]
        rows.sort(key=lambda r: (r.flow, r.step or "", r.user_id, r.id))
        ended = [Ended(r.id, r.flow, r.user_id, r.status, r.step) for r in rows]
        if dry_run or not rows:
            return ended
        changes = Changes()
        for row in rows:
            row.status, row.updated_at = "exited", now
            row.reason = f"ended by {by} {how}: {reason}"
            changes.put(row)
            changes.rest(row.id, None, None)
            changes.history[row.id] = [{"at": now.isoformat(), "kind": "ended",
                                        "step": row.step,
                                        "detail": {"by": by, "how": how, "reason": reason}}]
            changes.history_at[row.id] = now
        store.write(conn, changes)
    return ended


def _candidates(conn: sa.Connection, engine: Engine, selection: Selection) -> list[RunRow]:
    """The ids of the endable runs the selection may name, read without their rows."""
    runs = t.runs
    query = sa.select(runs.c.id).where(runs.c.status.in_(ENDABLE))
    for column, value in ((runs.c.flow, selection.flow), (runs.c.step, selection.step),
                          (runs.c.user_id, selection.user)):
        if value is not None:
            query = query.where(column == value)
    if selection.runs:
        query = query.where(sa.or_(*(runs.c.id.startswith(r, autoescape=True)
                                     for r in selection.runs)))
    ids = [row[0] for row in conn.execute(query)]
    return list(engine.store.runs(conn, ids).values())


def resting(engine: Engine, flow: str) -> dict[str, int]:
    """How many runs of ``flow`` wait or are parked at each step."""
    runs = t.runs
    with database.reading(engine.db) as conn:
        rows = conn.execute(sa.select(runs.c.step, sa.func.count())
                            .where(runs.c.flow == flow,
                                   runs.c.status.in_(("waiting", "parked")))
                            .group_by(runs.c.step))
        return {str(r[0]): int(r[1]) for r in rows}
