"""A batch: one transaction's runs, users and writes, and what the engine shares with it.

``Runtime`` is what the engine's parts (routing, timers, transitions, actions) need of
the engine: its flows, store, platform, hooks and settings. ``Batch`` is the state of
one transaction; ``open_batch`` begins it and, when the caller's block returns, writes
the batch's changes in a few statements and commits.

On a SQLite file, where one transaction writes at a time, the events and timers of a
batch are routed and fired *optimistically*: the batch reads a snapshot and computes
without the write lock, then takes the lock to write, first checking that every run
it read is still at the revision it read, its events still unrouted and its timers
still there. If not, or if its work needed the database while computing (an action or
a condition asking the platform), it is ``Stale``: nothing of it is written and the
caller runs it again the usual way, holding the lock from its first read to its
commit. The actions of a stale batch ran, and run again with the same idempotency
keys, as after a rollback. Lanes (``flowkit.store.lanes``) keep two batches off the
same events and timers, so that a batch goes stale rarely.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import attrs
import pendulum
import sqlalchemy as sa

from flowkit import _json
from flowkit.clock import Clock
from flowkit.context import User
from flowkit.dsl.flow import Flow
from flowkit.machine import Machine
from flowkit.rules.policy import Rules
from flowkit.runtime import validation
from flowkit.runtime.hooks import Hooks
from flowkit.store import Changes, RunRow, Store, database
from flowkit.store.lanes import Lanes

# A thread whose batch went stale runs this many batches the usual way before it
# computes outside the lock again: work that needs the database while computing
# (the platform's tables, the journey rules' counts) would go stale every time.
LOCKED_AFTER_STALE = 100
_COMPUTING = "flowkit.computing"  # in the connection's info while an optimistic batch computes
_REFUSED = "flowkit.refused"  # ... and once the guard refused a statement of it
T = TypeVar("T")


class Stale(BaseException):
    """A batch computed outside the write lock cannot be written (see the module's
    docstring); the caller runs it again holding the lock. A BaseException, so that an
    action's or a condition's ``except Exception`` lets it through."""


@attrs.define(eq=False)
class Runtime:
    """The engine's flows, store and settings, as its parts see them."""

    db: sa.Engine
    store: Store
    clock: Clock
    hooks: tuple[Hooks, ...]
    platform: Any
    batch_size: int
    action_attempts: int
    action_backoff: float
    limits: validation.Limits
    # called after a commit with the shards that got new events
    events_appended: Callable[[set[int]], None]
    # at most this many batches at once on the database, across processes (None: any)
    concurrent_batches: int | None = None
    lanes: Lanes | None = None  # a SQLite file's: its batches compute outside the lock
    flows: dict[str, Flow] = attrs.field(factory=dict)
    rules: Rules = attrs.field(factory=Rules)  # the project's journey rules
    machines: dict[str, Machine] = attrs.field(factory=dict)
    triggers: dict[str, list[Flow]] = attrs.field(factory=lambda: defaultdict(list))
    goal_events: set[str] = attrs.field(factory=set)  # events some flow has as its goal
    local: threading.local = attrs.field(factory=threading.local)  # per-thread state


class Batch:
    """The state of one transaction: runs loaded or started, and the writes to make."""

    def __init__(self, rt: Runtime, conn: sa.Connection, now: pendulum.DateTime) -> None:
        self.rt = rt
        self.conn = conn
        self.info = conn.info  # the connection's own dict (asks for action savepoints)
        self.now = now
        self.now_text = now.isoformat()  # most history entries are at ``now``
        self.changes = Changes()
        self.users: dict[str, User] = {}
        self.runs_by_user: dict[str, list[RunRow]] = defaultdict(list)
        self.waits: dict[str, tuple[str, str]] = {}
        self.transitions = 0
        self.platform = rt.platform.bind(conn, now)
        self.events: list[dict[str, Any]] = []  # emitted by actions, written with the batch
        # A careful batch (one event or timer whose batch failed) runs each run in a
        # savepoint and parks the one that fails; see ``isolation``.
        self.careful = False
        self.before_commit: list[Callable[[], None]] = []  # last writes, e.g. cap counts
        self.rules_state: Any = None  # the journey rules' (flowkit.rules.gate)
        self.optimistic = False  # computed outside the write lock, checked before writing
        self.read: dict[str, int] = {}  # run id -> the revision read
        self.read_users: set[str] = set()  # the users whose runs were all read
        self.routed: list[int] = []  # the events routed, marked so with the writes
        self.claimed: list[str] = []  # optimistic: the runs whose due timers it fires
        self.snapshot: sa.RootTransaction | None = None  # optimistic: ended once it has read

    def load_runs_of(self, user_ids: Iterable[str]) -> None:
        """Read the users' runs, to route their events to (on PostgreSQL, locked)."""
        user_ids = set(user_ids)
        for row in self.rt.store.runs_of_users(self.conn, user_ids, lock=True):
            self.runs_by_user[row.user_id].append(row)
            self.read[row.id] = row.revision
        self.read_users |= user_ids

    def writes(self) -> bool:
        """Whether the batch has anything to write (an optimistic batch with nothing to
        write never takes the lock)."""
        changes = self.changes
        return bool(self.routed or self.claimed or self.events or self.before_commit
                    or changes.runs or changes.timers or changes.history or changes.actions)

    def reads_done(self) -> None:
        """The batch has read what it works on: computing from here, an optimistic
        batch that needs the database goes stale. Its snapshot ends here, so that it
        holds back none of SQLite's checkpoints while it computes (readers' snapshots
        kept S5's log growing past 100 MB, and every read slower with it)."""
        if self.optimistic:
            self.info[_COMPUTING] = True
            if self.snapshot is not None:
                self.snapshot.commit()

    def load_users(self, user_ids: Iterable[str]) -> None:
        missing = {u for u in user_ids if u not in self.users}
        for uid, row in self.rt.store.users(self.conn, missing).items():
            self.users[uid] = User(
                id=uid, name=row["name"], email=row["email"], manager=row["manager"],
                timezone=row["timezone"] or "UTC",
                fields=_json.from_jsonable(row["fields"] or {}), platform=self.platform,
            )
        for uid in missing - self.users.keys():
            self.users[uid] = User(id=uid, platform=self.platform)

    def emit(self, event: str, user: str, key: str, payload: dict[str, Any]) -> None:
        self.events.append(validation.event_row(
            self.rt.platform, self.rt.limits,
            {**payload, "event": event, "user": user, "idempotency_key": key}, self.now))


@contextmanager
def open_batch(rt: Runtime, now: pendulum.DateTime | None = None, *,
               optimistic: bool = False) -> Iterator[Batch]:
    """A batch in a new transaction, committed with its writes when the block returns.

    ``optimistic`` (a SQLite file's routing and timers): the block reads and computes
    in a snapshot, and the writes go in a second transaction that holds the write lock,
    after the check; raises ``Stale`` if they cannot."""
    began = time.perf_counter()
    new: set[str] = set()
    with rt.db.connect() as conn:
        database.reads_only(conn, optimistic)
        try:
            # the batch's transaction; an optimistic batch's snapshot, which it ends
            # once it has read (``Batch.reads_done``)
            first = conn.begin()
            try:
                if rt.concurrent_batches:
                    waited = rt.store.take_batch_slot(conn, rt.concurrent_batches)
                    for hook in rt.hooks:
                        hook.batch_slot_taken(waited)
                batch = Batch(rt, conn, now or rt.clock.now())
                batch.optimistic = optimistic
                batch.snapshot = first if optimistic else None
                yield batch
                conn.info.pop(_COMPUTING, None)
                if conn.info.pop(_REFUSED, None):
                    # the code that met the refusal caught it and went on without what it
                    # asked for (or sent its statement to the driver): what it computed
                    # cannot be written
                    raise Stale("its work needed the database while computing")
                if not optimistic:
                    new = _write(batch)
                if first.is_active:
                    first.commit()
            except BaseException:
                if conn.in_transaction():  # the batch's, or one its code began
                    conn.rollback()
                raise
            if optimistic and batch.writes():
                database.reads_only(conn, False)
                with conn.begin():
                    new = _write(batch)
        finally:
            conn.info.pop(_COMPUTING, None)
            conn.info.pop(_REFUSED, None)
    if new:
        rt.events_appended({e["shard"] for e in batch.events if e["key"] in new})
    if batch.transitions:
        seconds = time.perf_counter() - began
        for hook in rt.hooks:
            hook.after_commit(batch.transitions, seconds)


def _write(batch: Batch) -> set[str]:
    """Write the batch's changes (an optimistic batch's once its reads still hold);
    returns the keys of the events it appended."""
    store, conn = batch.rt.store, batch.conn
    if batch.optimistic:
        if store.revisions(conn, batch.read, batch.read_users) != batch.read:
            raise Stale("a run it read has moved on")
        if batch.claimed and store.delete_timers(conn, batch.claimed) != len(batch.claimed):
            raise Stale("another batch fired its timers")
    marked = store.mark_routed(conn, batch.routed)
    if batch.optimistic and marked != len(batch.routed):
        raise Stale("another batch routed its events")
    for last in batch.before_commit:
        last()
    store.write(conn, batch.changes)
    return store.append_events(conn, batch.events)


def in_lane(rt: Runtime, lane: str | None, work: Callable[[bool], T], busy: T) -> T:
    """Do ``work(optimistic)``, a batch of events or timers that starts afresh each
    time: on a SQLite file holding ``lane`` (``busy`` if another batch holds it) and
    computed outside the write lock, then again holding the lock if that went stale;
    elsewhere holding it (``work(False)``)."""
    held = None
    if rt.lanes is not None and lane is not None:
        held = rt.lanes.take(lane)
        if held is None:
            return busy
    try:
        if _optimistic(rt):
            try:
                return work(True)
            except Stale:
                rt.local.locked_batches = LOCKED_AFTER_STALE  # see LOCKED_AFTER_STALE
        return work(False)
    finally:
        if held is not None:
            held.release()


def _optimistic(rt: Runtime) -> bool:
    """Whether this thread's next batch computes outside the write lock: on a SQLite
    file, unless a batch of this thread went stale lately."""
    if rt.lanes is None:
        return False
    locked = getattr(rt.local, "locked_batches", 0)
    if locked:
        rt.local.locked_batches = locked - 1
        return False
    return True


def guard(db: sa.Engine) -> None:
    """Have ``db``'s connections refuse a statement while an optimistic batch computes:
    it could read what the batch's check does not cover, or write without the lock.
    (A statement sent straight to the driver, which passes no refusal, still makes
    the batch stale.)"""
    sa.event.listen(db, "before_execute", _refuse_while_computing)
    sa.event.listen(db, "before_cursor_execute", _note_while_computing)


def _refuse_while_computing(conn: sa.Connection, *_: Any) -> None:
    if conn.info.get(_COMPUTING):
        conn.info[_REFUSED] = True  # stale even if the caller swallows the exception
        raise Stale("its work needed the database while computing")


def _note_while_computing(conn: sa.Connection, *_: Any) -> None:
    if conn.info.get(_COMPUTING):
        conn.info[_REFUSED] = True
