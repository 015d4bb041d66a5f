"""What the console reads, as a few set-based queries each page can afford at volume.

Every query here is served by an index (``schema.py``, migration ``0003``) and bounded
by a ``LIMIT`` where it lists rows, so a page costs the same with a thousand runs or a
million (``bench/console.py`` measures it). Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa

from flowkit.store import schema as t

STATUSES = ("waiting", "running", "completed", "exited", "parked", "failed")
RESTING = ("waiting", "running", "parked", "failed")  # a run in these has a step it is at
PROBLEMS = ("parked", "failed")
MESSAGES = ("send_email", "send_message", "send_notification")
LIST_LIMIT = 100
RUN_ID = "<run id>"
SAMPLE = 20  # a problem group's newest runs whose reasons are read


@attrs.frozen
class ProblemReason:
    """The problem runs of a group that stopped for one reason."""

    reason: str
    count: int  # among the runs read (all of the group's, unless the group is sampled)
    runs: tuple[dict[str, Any], ...]  # id, user_id, updated_at; the oldest first


@attrs.frozen
class ProblemGroup:
    """Parked or failed runs of one flow at one step: how many (exact), since when, and
    their reasons. ``sampled``: the group has more than ``SAMPLE`` runs, and the reasons
    are those of its newest ``SAMPLE``."""

    flow: str
    step: str | None
    status: str
    count: int
    oldest: pendulum.DateTime
    reasons: tuple[ProblemReason, ...]
    sampled: bool


def step_counts(conn: sa.Connection, flow: str) -> dict[str, dict[str, int]]:
    """step -> status -> how many runs of ``flow`` rest there (waiting, running, parked
    or failed)."""
    runs = t.runs
    query = (sa.select(runs.c.step, runs.c.status, sa.func.count())
             .where(runs.c.flow == flow, runs.c.status.in_(RESTING))
             .group_by(runs.c.step, runs.c.status))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for step, status, count in conn.execute(query):
        out[step or ""][status] = int(count)
    return dict(out)


def runs_at(conn: sa.Connection, flow: str, step: str, limit: int = LIST_LIMIT
            ) -> list[dict[str, Any]]:
    """The runs resting at a step, longest there first."""
    runs = t.runs
    query = (sa.select(runs.c.id, runs.c.user_id, runs.c.status, runs.c.reason,
                       runs.c.updated_at, runs.c.version)
             .where(runs.c.flow == flow, runs.c.step == step, runs.c.status.in_(RESTING))
             .order_by(runs.c.updated_at).limit(limit))
    return [dict(r._mapping) for r in conn.execute(query)]


def versions(conn: sa.Connection, flow: str) -> list[dict[str, Any]]:
    """The flow's recorded versions, newest first."""
    fv = t.flow_versions
    query = (sa.select(fv.c.version, fv.c.created_at).where(fv.c.flow == flow)
             .order_by(fv.c.created_at.desc()).limit(20))
    return [dict(r._mapping) for r in conn.execute(query)]


# -- one run -------------------------------------------------------------------------

def run(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def history(conn: sa.Connection, run_id: str) -> list[dict[str, Any]]:
    """The run's history entries, oldest first (dicts of at, kind, step, detail)."""
    query = (sa.select(t.history.c.entries).where(t.history.c.run_id == run_id)
             .order_by(t.history.c.id))
    return [entry for (entries,) in conn.execute(query) for entry in entries]


def rest(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    """What the run waits on: its timer (due_at, kind) and its event, if any."""
    timer = conn.execute(sa.select(t.timers.c.due_at, t.timers.c.kind)
                         .where(t.timers.c.run_id == run_id)).one_or_none()
    event = conn.execute(sa.select(t.event_waits.c.event)
                         .where(t.event_waits.c.run_id == run_id)).scalar_one_or_none()
    return {"due_at": timer.due_at if timer else None, "timer": timer.kind if timer else None,
            "event": event}


# -- users -----------------------------------------------------------------------

def find_users(conn: sa.Connection, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Users whose id is ``text``, or whose email is ``text`` (any case)."""
    users = t.users
    text = text.strip()
    query = (sa.select(users).where(sa.or_(users.c.id == text,
                                           sa.func.lower(users.c.email) == text.lower()))
             .limit(limit))
    return [dict(r._mapping) for r in conn.execute(query)]


def user(conn: sa.Connection, user_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def user_runs(conn: sa.Connection, user_id: str, limit: int = LIST_LIMIT
              ) -> list[dict[str, Any]]:
    """The user's runs, newest first, with the time of their timer if they have one."""
    runs, timers = t.runs, t.timers
    query = (sa.select(runs.c.id, runs.c.flow, runs.c.status, runs.c.step, runs.c.reason,
                       runs.c.created_at, runs.c.updated_at, timers.c.due_at, timers.c.kind)
             .select_from(runs.outerjoin(timers, timers.c.run_id == runs.c.id))
             .where(runs.c.user_id == user_id)
             .order_by(runs.c.created_at.desc(), runs.c.id).limit(limit))
    return [dict(r._mapping) for r in conn.execute(query)]


def user_messages(conn: sa.Connection, user_id: str, limit: int = LIST_LIMIT
                  ) -> list[dict[str, Any]]:
    """The messages sent to the user (emails, track messages, notifications), newest
    first."""
    actions = t.actions
    query = (sa.select(actions.c.at, actions.c.action, actions.c.args, actions.c.flow,
                       actions.c.run_id, actions.c.step)
             .where(actions.c.user_id == user_id, actions.c.action.in_(MESSAGES))
             .order_by(actions.c.at.desc()).limit(limit))
    return [dict(r._mapping) for r in conn.execute(query)]


# -- problems --------------------------------------------------------------------

def problems(conn: sa.Connection, groups: int = 30, per_reason: int = 5,
             sample: int = SAMPLE) -> list[ProblemGroup]:
    """Parked and failed runs grouped by flow, step and status (exact counts, the biggest
    group first), and within each by reason (a reason that names its own run, as
    ``flowkit runs retry <id>`` does, is grouped with the id taken out).

    The counts come from a small partial index; the reasons from each group's newest
    ``sample`` runs, so the page costs the same with 100 or 100,000 problem runs."""
    runs = t.runs
    totals = conn.execute(
        sa.select(runs.c.flow, runs.c.step, runs.c.status, sa.func.count(),
                  sa.func.min(runs.c.updated_at))
        .where(runs.c.status.in_(PROBLEMS)).group_by(runs.c.flow, runs.c.step, runs.c.status)
        .order_by(sa.func.count().desc(), runs.c.flow, runs.c.step).limit(groups)).all()
    read: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = {}
    for row in _newest(conn, totals, sample):
        why = (row.reason or "(no reason recorded)").replace(row.id, RUN_ID)
        read.setdefault((row.flow, row.step, row.status), {}).setdefault(why, []).append(
            {"id": row.id, "user_id": row.user_id, "updated_at": row.updated_at})
    out = []
    for flow, step, status, count, oldest in totals:
        reasons = sorted(
            (ProblemReason(why, len(members), tuple(reversed(members[-per_reason:])))
             for why, members in read.get((flow, step, status), {}).items()),
            key=lambda r: (-r.count, r.reason))
        oldest = oldest if isinstance(oldest, pendulum.DateTime) else t.aware_utc(oldest)
        out.append(ProblemGroup(flow, step, status, int(count), oldest, tuple(reasons),
                                sampled=sum(r.count for r in reasons) < count))
    return out


def _newest(conn: sa.Connection, groups: Sequence[Any], limit: int) -> list[Any]:
    """The newest ``limit`` runs of each (flow, step, status) group, newest first: one
    statement, a ``UNION ALL`` of an index scan per group."""
    if not groups:
        return []
    runs = t.runs
    parts = [
        sa.select(sa.select(runs.c.id, runs.c.flow, runs.c.step, runs.c.status,
                            runs.c.reason, runs.c.user_id, runs.c.updated_at)
                  .where(runs.c.flow == flow, _same(runs.c.step, step),
                         runs.c.status == status)
                  .order_by(runs.c.updated_at.desc()).limit(limit).subquery())
        for flow, step, status, *_ in groups]
    return list(conn.execute(sa.union_all(*parts)))


def _same(column: sa.ColumnElement[Any], value: object) -> sa.ColumnElement[bool]:
    """``column = value``, or ``IS NULL`` (an index serves both; IS NOT DISTINCT FROM
    it does not)."""
    return column.is_(None) if value is None else column == value
