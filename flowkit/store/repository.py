"""Reading and writing flowkit's tables, in sets.

Every method takes the connection of the caller's transaction, so the engine decides
what commits together. Writes come in batches (``Changes``): one statement per table
for a whole batch of runs, not one per run.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from flowkit._json import encode_column
from flowkit.addresses import optional_email
from flowkit.store import schema as t
from flowkit.store.bulk import insert_rows

LIVE = ("waiting", "running", "parked")
SHARDS = 16
_ROUTE_LOCK = 0x466B  # the first key of the routing advisory locks ("Fk")
_BATCH_SLOTS = 0x466C  # the first key of the batch slots' advisory locks ("Fl")


def shard_of(user_id: str) -> int:
    """The routing shard of a user's events."""
    return zlib.crc32(user_id.encode()) % SHARDS


@attrs.define
class RunRow:
    """A run as stored."""

    id: str
    flow: str
    version: str
    user_id: str
    status: str
    step: str | None
    locals: dict[str, Any]
    visits: dict[str, int]
    trigger: dict[str, Any]
    reason: str | None
    created_at: pendulum.DateTime
    updated_at: pendulum.DateTime
    attempts: int = 0
    revision: int = 0  # as read; the database adds one at each write of the row


@attrs.frozen
class DueTimer:
    run_id: str
    step: str
    kind: str  # wait | timeout | retry
    due_at: pendulum.DateTime


@attrs.frozen
class EventRow:
    seq: int
    key: str
    name: str
    user_id: str
    payload: dict[str, Any]
    at: pendulum.DateTime


@attrs.define
class Changes:
    """The writes of one batch, applied by ``Store.write`` in a few statements.

    A run touched several times in a batch is written once, as it ended up.
    """

    runs: dict[str, RunRow] = attrs.field(factory=dict)
    new: set[str] = attrs.field(factory=set)
    # run id -> its timer / event wait after the batch (None: it has none)
    timers: dict[str, dict[str, Any] | None] = attrs.field(factory=dict)
    waits: dict[str, dict[str, Any] | None] = attrs.field(factory=dict)
    history: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    history_at: dict[str, pendulum.DateTime] = attrs.field(factory=dict)
    actions: list[dict[str, Any]] = attrs.field(factory=list)

    def put(self, row: RunRow, *, new: bool = False) -> None:
        self.runs[row.id] = row
        if new:
            self.new.add(row.id)

    def rest(self, run_id: str, timer: dict[str, Any] | None,
             wait: dict[str, Any] | None) -> None:
        """Set what the run waits on (or, with two Nones, that it waits on nothing)."""
        self.timers[run_id] = timer
        self.waits[run_id] = wait


# The runs table's columns in ``RunRow``'s order: a row read with them is a RunRow's
# arguments as they are (by position; reading them by name cost more than the query).
_RUN_COLUMNS = tuple(t.runs.c[f.name] for f in attrs.fields(RunRow))


def _select_runs() -> sa.Select[Any]:
    return sa.select(*_RUN_COLUMNS)


def _row_to_run(row: sa.Row[Any]) -> RunRow:
    # a row of _RUN_COLUMNS
    return RunRow(*row)  # type: ignore[call-arg]


class Store:
    """Queries over flowkit's schema for one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def _among(self, column: sa.ColumnElement[Any], values: Iterable[Any]
                ) -> sa.ColumnElement[bool]:
        """``column IN values``; on PostgreSQL as ``= ANY(array)``, the array sent as one
        JSON parameter however many values, so the statement text stays the same and is
        parsed once. (As an array parameter, psycopg escapes each element in Python:
        twice the client's CPU for the same query, measured on a batch's 500 run ids.)"""
        values = list(values)
        if self.dialect == "postgresql":
            document = sa.cast(sa.bindparam(None, encode_column(values), type_=sa.Text),
                               postgresql.JSONB)
            elements = sa.func.jsonb_array_elements_text(document).table_valued("value")
            # text, not the column's varchar(n): a cast to varchar(n) would cut a longer
            # value down to one that might match
            kind = sa.Text() if isinstance(column.type, sa.String) else column.type
            array = sa.func.array(sa.select(sa.cast(elements.c.value, kind)).scalar_subquery())
            return column == sa.any_(array)
        return column.in_(values)

    def _for_update(self, query: sa.Select[Any], *, skip_locked: bool = False) -> sa.Select[Any]:
        if self.dialect == "postgresql":
            return query.with_for_update(skip_locked=skip_locked)
        return query  # SQLite: the IMMEDIATE transaction already excludes other writers

    # -- flows ----------------------------------------------------------------

    def save_flow_versions(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        insert_rows(conn, t.flow_versions, rows, conflict="ignore")

    # -- users ----------------------------------------------------------------

    def upsert_users(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Create or update users; an ``email`` is checked (``flowkit.addresses``)."""
        rows = [{**r, "email": optional_email(r["email"], where=f"user {r['id']}")}
                if "email" in r else r for r in rows]
        insert_rows(conn, t.users, rows, conflict="update")

    def ensure_users(self, conn: sa.Connection, user_ids: Iterable[str]) -> None:
        rows = [{"id": u, "fields": {}, "timezone": "UTC"} for u in sorted(set(user_ids))]
        insert_rows(conn, t.users, rows, conflict="ignore")

    def users(self, conn: sa.Connection, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(set(user_ids))
        if not ids:
            return {}
        result = conn.execute(sa.select(t.users).where(self._among(t.users.c.id, ids)))
        keys = list(result.keys())
        return {r[0]: dict(zip(keys, r, strict=True)) for r in result.all()}

    # -- events ---------------------------------------------------------------

    def append_events(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Append events; one whose key is already in the log is dropped.

        Returns the keys of the events that were new.
        """
        return set(insert_rows(conn, t.events, rows, conflict="ignore", returning="key"))

    def take_batch_slot(self, conn: sa.Connection, slots: int) -> float:
        """Take one of ``slots`` batch slots for this transaction, waiting for one when
        all are taken: however many workers there are, at most ``slots`` batches run
        on the database at once. Released at commit or rollback, or when a killed
        worker's connection closes.

        On SQLite the IMMEDIATE transaction already lets one batch write at a time.
        Returns how long the batch waited, in seconds (0 when a slot was free).
        """
        if self.dialect != "postgresql":
            return 0.0
        # LIMIT 1 stops at the first slot taken, so a batch holds one slot. Polled, not
        # queued on one slot: a batch waits for whichever slot is given back first.
        query = sa.text("SELECT s FROM generate_series(0, :last) AS s "
                        "WHERE pg_try_advisory_xact_lock(:key, s) LIMIT 1")
        params = {"last": slots - 1, "key": _BATCH_SLOTS}
        if conn.execute(query, params).scalar() is not None:
            return 0.0
        began, pause = time.monotonic(), 0.002
        while True:
            time.sleep(pause * (1 + random.random()))
            pause = min(pause * 2, 0.05)
            if conn.execute(query, params).scalar() is not None:
                return time.monotonic() - began

    def lock_shard(self, conn: sa.Connection, shard: int) -> bool:
        """Take the shard's routing lock for this transaction, if no one holds it.

        On SQLite the IMMEDIATE transaction already makes routing one at a time.
        """
        if self.dialect != "postgresql":
            return True
        got = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(_ROUTE_LOCK, shard)))
        return bool(got.scalar_one())

    def unrouted_events(self, conn: sa.Connection, limit: int,
                        shard: int | None = None) -> list[EventRow]:
        """The oldest events not yet routed (of one shard, whose lock the caller holds)."""
        query = sa.select(t.events).where(t.events.c.routed == sa.false())
        if shard is not None:
            query = query.where(t.events.c.shard == shard)
        query = query.order_by(t.events.c.seq).limit(limit)
        return [EventRow(r.seq, r.key, r.name, r.user_id, r.payload, r.at)
                for r in conn.execute(query).all()]

    def unrouted_among(self, conn: sa.Connection, seqs: Sequence[int]) -> list[EventRow]:
        """The events of ``seqs`` that are not yet routed, oldest first."""
        query = (sa.select(t.events).where(self._among(t.events.c.seq, seqs),
                                           t.events.c.routed == sa.false())
                 .order_by(t.events.c.seq))
        return [EventRow(r.seq, r.key, r.name, r.user_id, r.payload, r.at)
                for r in conn.execute(query).all()]

    def reject_event(self, conn: sa.Connection, seq: int, error: str) -> None:
        """Mark the event routed without routing it, keeping why."""
        conn.execute(sa.update(t.events).where(t.events.c.seq == seq)
                     .values(routed=True, error=error))

    def rejected_events(self, conn: sa.Connection) -> list[dict[str, Any]]:
        """The events rejected by routing, oldest first: key, name, user_id, at, error."""
        columns = (t.events.c.key, t.events.c.name, t.events.c.user_id, t.events.c.at,
                   t.events.c.error)
        query = sa.select(*columns).where(t.events.c.error.is_not(None)).order_by(
            t.events.c.seq)
        return [dict(r._mapping) for r in conn.execute(query)]

    def pending_shards(self, conn: sa.Connection) -> dict[int, pendulum.DateTime]:
        """Shards with events to route, and when the first of them (in order) arrived.

        One index probe a shard, so a poll costs the same with 20,000 events waiting
        as with one (a ``GROUP BY`` over them took 6 ms a poll in S1's burst).
        """
        e = t.events
        probes = [sa.select(sa.literal(shard, sa.Integer).label("shard"),
                            sa.select(e.c.at).where(e.c.routed == sa.false(), e.c.shard == shard)
                            .order_by(e.c.seq).limit(1).scalar_subquery().label("at"))
                  for shard in range(SHARDS)]
        rows = conn.execute(sa.union_all(*probes))
        return {r.shard: r.at for r in rows if r.at is not None}

    def mark_routed(self, conn: sa.Connection, seqs: Sequence[int]) -> int:
        """Mark the events of ``seqs`` routed; returns how many were not yet."""
        if not seqs:
            return 0
        result = conn.execute(sa.update(t.events).where(
            self._among(t.events.c.seq, seqs), t.events.c.routed == sa.false())
            .values(routed=True))
        return int(result.rowcount)

    # -- runs -----------------------------------------------------------------

    def runs_of_users(self, conn: sa.Connection, user_ids: Iterable[str],
                      *, lock: bool = False) -> list[RunRow]:
        ids = list(set(user_ids))
        if not ids:
            return []
        query = _select_runs().where(self._among(t.runs.c.user_id, ids)).order_by(t.runs.c.id)
        if lock:  # in id order, as every locker does, so lockers never deadlock
            query = self._for_update(query)
        return [_row_to_run(r) for r in conn.execute(query).all()]

    def runs(self, conn: sa.Connection, run_ids: Iterable[str], *,
             lock: bool = False) -> dict[str, RunRow]:
        ids = list(set(run_ids))
        if not ids:
            return {}
        query = _select_runs().where(self._among(t.runs.c.id, ids)).order_by(t.runs.c.id)
        if lock:
            query = self._for_update(query)
        return {run.id: run for run in map(_row_to_run, conn.execute(query).all())}

    def revisions(self, conn: sa.Connection, run_ids: Iterable[str],
                  user_ids: Iterable[str] = ()) -> dict[str, int]:
        """run id -> revision, for the runs of ``run_ids`` and every run of ``user_ids``."""
        ids, users = list(run_ids), list(user_ids)
        if not ids and not users:
            return {}
        runs = t.runs
        which = [self._among(runs.c.id, ids)] if ids else []
        if users:
            which.append(self._among(runs.c.user_id, users))
        query = sa.select(runs.c.id, runs.c.revision).where(sa.or_(*which))
        return {r[0]: r[1] for r in conn.execute(query)}

    def find_runs(self, conn: sa.Connection, *, user_id: str | None = None,
                  flow: str | None = None) -> list[RunRow]:
        query = _select_runs().order_by(t.runs.c.created_at, t.runs.c.id)
        if user_id is not None:
            query = query.where(t.runs.c.user_id == user_id)
        if flow is not None:
            query = query.where(t.runs.c.flow == flow)
        return [_row_to_run(r) for r in conn.execute(query)]

    def event_waits(self, conn: sa.Connection, user_ids: Iterable[str]
                    ) -> dict[str, tuple[str, str]]:
        """run id -> (event, step) for the runs of these users that wait for an event."""
        ids = list(set(user_ids))
        if not ids:
            return {}
        waits = t.event_waits
        rows = conn.execute(sa.select(waits).where(self._among(waits.c.user_id, ids))).all()
        return {r.run_id: (r.event, r.step) for r in rows}

    def run_counts(self, conn: sa.Connection) -> dict[tuple[str, str], int]:
        """How many runs each flow has in each status."""
        rows = conn.execute(sa.select(t.runs.c.flow, t.runs.c.status, sa.func.count())
                            .group_by(t.runs.c.flow, t.runs.c.status))
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def unrouted_count(self, conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.events)
                                .where(t.events.c.routed == sa.false())).scalar_one())

    # -- timers ---------------------------------------------------------------

    def claim_due_timers(self, conn: sa.Connection, now: pendulum.DateTime, limit: int,
                         run_ids: Sequence[str] | None = None, *, delete: bool = True
                         ) -> tuple[list[DueTimer], dict[str, RunRow]]:
        """Take up to ``limit`` due timers (of ``run_ids`` only, if given), earliest first,
        with their runs locked.

        Returns the claimed timers and their runs by id. The
        timers are deleted in the caller's transaction, so each fires once (unless not
        ``delete``: an optimistic batch deletes them with its writes). On
        PostgreSQL, timers and runs another transaction holds are skipped, not waited
        for (a run being routed an event keeps its timer for the next claim); on SQLite
        the IMMEDIATE transaction holds the database's write lock.
        """
        query = (sa.select(t.timers).where(t.timers.c.due_at <= now)
                 .order_by(t.timers.c.due_at, t.timers.c.run_id).limit(limit))
        if run_ids is not None:
            query = query.where(self._among(t.timers.c.run_id, run_ids))
        due = [DueTimer(r.run_id, r.step, r.kind, r.due_at)
               for r in conn.execute(self._for_update(query, skip_locked=True)).all()]
        if not due:
            return [], {}
        runs_query = self._for_update(
            _select_runs().where(self._among(t.runs.c.id, [d.run_id for d in due]))
            .order_by(t.runs.c.id), skip_locked=True)
        runs = {run.id: run for run in map(_row_to_run, conn.execute(runs_query).all())}
        due = [d for d in due if d.run_id in runs]
        if due and delete:
            self.delete_timers(conn, [d.run_id for d in due])
        return due, runs

    def delete_timers(self, conn: sa.Connection, run_ids: Sequence[str]) -> int:
        """Delete the runs' timers; returns how many there were."""
        result = conn.execute(sa.delete(t.timers).where(self._among(t.timers.c.run_id,
                                                                     run_ids)))
        return int(result.rowcount)

    def due_count(self, conn: sa.Connection, now: pendulum.DateTime, cap: int = 100_000
                  ) -> tuple[int, pendulum.DateTime | None]:
        """How many timers are due (counted up to ``cap``) and the oldest due time."""
        due = (sa.select(t.timers.c.due_at).where(t.timers.c.due_at <= now)
               .order_by(t.timers.c.due_at).limit(cap).subquery())  # the oldest first
        count, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.min(due.c.due_at))).one()
        return int(count), (pendulum.instance(oldest, tz="UTC") if oldest else None)

    def next_due(self, conn: sa.Connection) -> pendulum.DateTime | None:
        value = conn.execute(sa.select(sa.func.min(t.timers.c.due_at))).scalar_one_or_none()
        if value is None:
            return None
        moment: pendulum.DateTime = pendulum.instance(value, tz="UTC")
        return moment

    def count_timers(self, conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.timers)).scalar_one())

    # -- history and actions --------------------------------------------------

    def history(self, conn: sa.Connection, run_ids: Iterable[str]
                ) -> dict[str, list[dict[str, Any]]]:
        """Each run's history entries, oldest first: dicts of at, kind, step, detail."""
        ids = list(set(run_ids))
        out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            query = (sa.select(t.history.c.run_id, t.history.c.entries)
                     .where(self._among(t.history.c.run_id, ids)).order_by(t.history.c.id))
            for run_id, entries in conn.execute(query):
                out[run_id].extend(entries)
        return out

    def actions(self, conn: sa.Connection, *, user_id: str | None = None,
                action: str | None = None, run_id: str | None = None
                ) -> list[dict[str, Any]]:
        query = sa.select(t.actions).order_by(t.actions.c.seq)
        if user_id is not None:
            query = query.where(t.actions.c.user_id == user_id)
        if action is not None:
            query = query.where(t.actions.c.action == action)
        if run_id is not None:
            query = query.where(t.actions.c.run_id == run_id)
        return [dict(r._mapping) for r in conn.execute(query)]

    # -- the batch write ------------------------------------------------------

    def write(self, conn: sa.Connection, changes: Changes) -> None:
        """Apply a batch's writes: one statement per table, whatever the batch's size."""
        if changes.runs:
            # not recursing: the JSON columns are encoded as they are, not copied first
            insert_rows(conn, t.runs, [attrs.asdict(r, recurse=False)
                                       for r in changes.runs.values()],
                        conflict="update", keep=("created_at", "flow", "user_id", "trigger"),
                        bump="revision")
        touched = [i for i in changes.timers if i not in changes.new]
        if touched:
            conn.execute(sa.delete(t.timers).where(self._among(t.timers.c.run_id, touched)))
            conn.execute(sa.delete(t.event_waits)
                         .where(self._among(t.event_waits.c.run_id, touched)))
        timers = [row for row in changes.timers.values() if row is not None]
        insert_rows(conn, t.timers, timers)
        insert_rows(conn, t.event_waits, [row for row in changes.waits.values() if row])
        insert_rows(conn, t.history, [
            {"run_id": run_id, "at": changes.history_at[run_id], "entries": entries}
            for run_id, entries in changes.history.items()])
        # A retried step's action keeps its key: the ledger keeps the first record.
        insert_rows(conn, t.actions, changes.actions, conflict="ignore")
