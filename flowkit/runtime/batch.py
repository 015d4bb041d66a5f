"""A batch: one transaction's runs, users and writes, and what the engine shares with it.

``Runtime`` is what the engine's parts (routing, timers, transitions, actions) need of
the engine: its flows, store, platform, hooks and settings. ``Batch`` is the state of
one transaction; ``open_batch`` begins it and, when the caller's block returns, writes
the batch's changes in a few statements and commits.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

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
from flowkit.store import Changes, RunRow, Store


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
def open_batch(rt: Runtime, now: pendulum.DateTime | None = None) -> Iterator[Batch]:
    """A batch in a new transaction, committed with its writes when the block returns."""
    began = time.perf_counter()
    with rt.db.begin() as conn:
        if rt.concurrent_batches:
            waited = rt.store.take_batch_slot(conn, rt.concurrent_batches)
            for hook in rt.hooks:
                hook.batch_slot_taken(waited)
        batch = Batch(rt, conn, now or rt.clock.now())
        yield batch
        for last in batch.before_commit:
            last()
        rt.store.write(conn, batch.changes)
        new = rt.store.append_events(conn, batch.events)
    if new:
        rt.events_appended({e["shard"] for e in batch.events if e["key"] in new})
    if batch.transitions:
        seconds = time.perf_counter() - began
        for hook in rt.hooks:
            hook.after_commit(batch.transitions, seconds)
