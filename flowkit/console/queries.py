"""What the console reads, as a few set-based queries each page can afford at volume.

Every query here is served by an index (``schema.py``, migration ``0003``) and bounded
by a ``LIMIT`` where it lists rows, so a page costs the same with a thousand runs or a
million (``bench/console.py`` measures it). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
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


@attrs.frozen
class ProblemGroup:
    """Parked or failed runs of one flow at one step for one reason."""

    flow: str
    step: str | None
    status: str
    reason: str
    count: int
    oldest: pendulum.DateTime
    runs: tuple[dict[str, Any], ...]  # id, user_id, updated_at; the oldest first


def status_counts(conn: sa.Connection) -> dict[str, dict[str, int]]:
    """flow -> status -> how many runs."""
    runs = t.runs
    out: dict[str, dict[str, int]] = defaultdict(dict)
    query = sa.select(runs.c.flow, runs.c.status, sa.func.count()).group_by(
        runs.c.flow, runs.c.status)
    for flow, status, count in conn.execute(query):
        out[flow][status] = int(count)
    return dict(out)


def flow_status_counts(conn: sa.Connection, flow: str) -> dict[str, int]:
    """status -> how many runs of ``flow``."""
    runs = t.runs
    query = (sa.select(runs.c.status, sa.func.count()).where(runs.c.flow == flow)
             .group_by(runs.c.status))
    return {status: int(count) for status, count in conn.execute(query)}


def _day(conn: sa.Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return sa.cast(column, sa.Date)
    return sa.func.date(column)


def starts_per_day(conn: sa.Connection, today: dt.date, days: int = 30
                   ) -> dict[str, list[int]]:
    """flow -> runs started on each of the last ``days`` days (UTC), oldest first."""
    first = today - dt.timedelta(days=days - 1)
    since = pendulum.datetime(first.year, first.month, first.day, tz="UTC")
    runs = t.runs
    day = _day(conn, runs.c.created_at).label("day")
    query = (sa.select(runs.c.flow, day, sa.func.count())
             .where(runs.c.created_at >= since).group_by(runs.c.flow, day))
    out: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    for flow, when, count in conn.execute(query):
        when = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when))
        index = (when - first).days
        if 0 <= index < days:
            out[flow][index] = int(count)
    return dict(out)


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


def flow_ir(conn: sa.Connection, flow: str, version: str) -> dict[str, Any] | None:
    fv = t.flow_versions
    query = sa.select(fv.c.ir).where(fv.c.flow == flow, fv.c.version == version)
    ir: dict[str, Any] | None = conn.execute(query).scalar_one_or_none()
    return ir


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

def problems(conn: sa.Connection, groups: int = 50, per_group: int = 20
             ) -> list[ProblemGroup]:
    """Parked and failed runs grouped by flow, step and reason, the biggest group first;
    each with up to ``per_group`` of its runs, oldest first. A reason that names its own
    run (``flowkit runs retry <id>``) is grouped with the id taken out.

    One query: each problem run numbered within its group (a window), the first
    ``per_group`` of each kept."""
    runs = t.runs
    reason = sa.func.coalesce(sa.func.replace(runs.c.reason, runs.c.id, RUN_ID), "")
    group = (runs.c.flow, runs.c.step, runs.c.status, reason)
    numbered = (sa.select(runs.c.flow, runs.c.step, runs.c.status, reason.label("reason"),
                          runs.c.id, runs.c.user_id, runs.c.updated_at,
                          sa.func.row_number().over(partition_by=group,
                                                    order_by=runs.c.updated_at).label("n"),
                          sa.func.count().over(partition_by=group).label("size"))
                .where(runs.c.status.in_(PROBLEMS)).subquery())
    rows = conn.execute(sa.select(numbered).where(numbered.c.n <= per_group)
                        .order_by(numbered.c.size.desc(), numbered.c.flow, numbered.c.step,
                                  numbered.c.reason, numbered.c.n))
    found: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        found.setdefault((row.flow, row.step, row.status, row.reason, row.size), []).append(row)
    out = []
    for (flow, step, status, why, size), members in list(found.items())[:groups]:
        oldest = members[0].updated_at
        oldest = oldest if isinstance(oldest, pendulum.DateTime) else t.aware_utc(oldest)
        out.append(ProblemGroup(
            flow, step, status, why or "(no reason recorded)", int(size), oldest,
            tuple({"id": r.id, "user_id": r.user_id, "updated_at": r.updated_at}
                  for r in members)))
    return out
