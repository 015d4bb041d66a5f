"""The engine: routes events to runs, fires due timers, runs actions, commits in batches.

``Engine`` runs inline, in the calling process; the Dramatiq workers and the
``Simulation`` drive this same engine. Each public method does its work in
transactions of up to ``batch_size`` events or timers: a batch's runs are advanced in
memory and their rows written in a few statements, so a batch costs a handful of
round trips rather than a few per run. One run's failure (its own code raising, an
action failing) fails that run only.

This module is the facade; the work is done by the modules named after it:
``routing`` (events to runs), ``timers`` (firing due timers), ``transitions`` (starting,
advancing and ending runs), ``actions`` (running them), ``history`` (entries and the
records read back), ``batch`` (one transaction's state) and ``validation`` (the
boundary every event crosses).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa

from flowkit import _json
from flowkit.clock import Clock, SystemClock
from flowkit.context import User
from flowkit.dsl.flow import Flow
from flowkit.errors import EventError, RunStatusError, UnknownFlowError, UnknownRunError
from flowkit.machine import HistoryEntry, Machine, Retry, Start
from flowkit.rules import report as reports
from flowkit.rules.loading import project_rules
from flowkit.rules.policy import Rules
from flowkit.rules.report import FlowReport
from flowkit.runtime import actions, history, routing, timers, transitions, validation
from flowkit.runtime.batch import Runtime, guard, open_batch
from flowkit.runtime.discovery import Source, load_flows
from flowkit.runtime.dispatch import Dispatcher, InlineDispatcher
from flowkit.runtime.hooks import Hooks
from flowkit.runtime.records import ActionRecord, RejectedEvent, RunRecord
from flowkit.store import Store
from flowkit.store import database as db
from flowkit.store.lanes import Lanes
from flowkit.store.repository import shard_of

__all__ = ["Emitted", "Engine", "shard_of"]


@attrs.frozen
class Emitted:
    """What ``emit`` did with an event."""

    key: str
    duplicate: bool


class Engine:
    """Runs flows against a database.

    ``Engine()`` uses ``DATABASE_URL`` (else a SQLite file, ``flowkit.db``) and the
    flows of ``automations/`` and ``tracks/``. ``flows`` takes flows, module names,
    files or folders instead. A SQLite database is migrated on start; any other must be
    migrated with ``flowkit db upgrade`` first. ``rules`` are the project's journey
    rules (default: ``flowkit.rules.loading.project_rules()``); ``limits`` bounds the
    events it accepts (default: ``Limits.from_env()``). ``concurrent_batches`` caps the
    batches that run on the database at once, across every engine that sets it (the
    workers do, from ``FLOWKIT_CONCURRENT_BATCHES``): more would only contend for the
    database's cores.
    """

    def __init__(
        self,
        database_url: str | None = None,
        flows: Iterable[Source] | None = None,
        *,
        clock: Clock | None = None,
        hooks: Sequence[Hooks] = (),
        batch_size: int = 500,
        migrate: bool | None = None,
        dispatcher: Dispatcher[Engine] | None = None,
        platform: Any = None,
        action_attempts: int = 5,
        action_backoff: float = 2.0,
        rules: Rules | None = None,
        limits: validation.Limits | None = None,
        concurrent_batches: int | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.hooks = tuple(hooks)
        self.batch_size = batch_size
        self.dispatcher: Dispatcher[Engine] = dispatcher or InlineDispatcher()
        self.action_attempts = action_attempts
        self.action_backoff = action_backoff
        self.database_url = db.database_url(database_url)
        self.db = db.create_engine(self.database_url)
        if db.in_memory(self.database_url):
            db.create_all(self.db)  # a new, private database every time
        else:
            sqlite = self.db.dialect.name == "sqlite"
            db.ensure_schema(self.db, migrate=sqlite if migrate is None else migrate)
        self.store = Store(self.db)
        guard(self.db)  # (first: it refuses a statement before a savepoint begins for it)
        actions.lazy_savepoints(self.db)
        self._rt = Runtime(
            db=self.db, store=self.store, clock=self.clock, hooks=self.hooks,
            platform=_default_platform() if platform is None else platform,
            batch_size=batch_size, action_attempts=action_attempts,
            action_backoff=action_backoff,
            limits=validation.Limits.from_env() if limits is None else limits,
            events_appended=lambda shards: self.dispatcher.events_appended(self, shards),
            concurrent_batches=concurrent_batches, lanes=Lanes.of(self.db),
            rules=project_rules() if rules is None else rules)
        self.rules = self._rt.rules
        self.flows: dict[str, Flow] = self._rt.flows
        self.machines: dict[str, Machine] = self._rt.machines
        self.register(load_flows(flows))

    # -- set-up ---------------------------------------------------------------

    @property
    def platform(self) -> Any:
        """The school's platform that actions and questions go to. Setting it (before
        the first event) swaps in another, e.g. an adapter in a ``Simulation``."""
        return self._rt.platform

    @platform.setter
    def platform(self, platform: Any) -> None:
        self._rt.platform = platform

    def register(self, flows: Iterable[Flow]) -> None:
        """Add flows (each name once) and record their versions."""
        flows = list(flows)
        for flow in flows:
            self.flows[flow.name] = flow
            # A database error inside a flow's code (a question asked of the platform)
            # leaves PostgreSQL's transaction aborted: the batch fails and is taken apart.
            self.machines[flow.name] = Machine(flow, reraise=(sa.exc.StatementError,))
        self._rt.triggers.clear()
        for flow in self.flows.values():
            for trigger in flow.triggers:
                self._rt.triggers[trigger.event].append(flow)
        self._rt.goal_events = {f.rules.goal.event for f in self.flows.values()
                                if f.rules.goal is not None}
        rows = [{"flow": f.name, "version": f.version, "kind": f.kind,
                 "ir": f.ir.to_dict(), "created_at": self.clock.now()} for f in flows]
        with self.db.begin() as conn:
            self.store.save_flow_versions(conn, rows)

    def close(self) -> None:
        actions.close_loop(self._rt)
        self.db.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def add_user(
        self, user_id: str, *, name: str | None = None, email: str | None = None,
        manager: str | None = None, timezone: str = "UTC",
        fields: Mapping[str, Any] | None = None,
    ) -> User:
        """Create or update a user; runs read the user as it is at each resume."""
        try:
            pendulum.timezone(timezone)
        except Exception as error:
            raise EventError(f"unknown timezone {timezone!r} for user {user_id!r}") from error
        user = User(id=str(user_id), name=name, email=email, manager=manager,
                    timezone=timezone, fields=dict(fields or {}))
        with self.db.begin() as conn:
            self.store.upsert_users(conn, [{
                "id": user.id, "name": name, "email": email, "manager": manager,
                "timezone": timezone, "fields": _json.to_jsonable(user.fields)}])
        return user

    # -- events ---------------------------------------------------------------

    def emit(self, event: str, user: str, *, idempotency_key: str | None = None,
             **payload: Any) -> Emitted:
        """Record an event for ``user`` and route it: exits, waits, then triggers.

        An event whose ``idempotency_key`` was seen before is dropped: it starts nothing.
        """
        return self.emit_many(
            [{"event": event, "user": user, "idempotency_key": idempotency_key, **payload}]
        )[0]

    def emit_many(self, events: Iterable[Mapping[str, Any]]) -> list[Emitted]:
        """Record many events in one transaction, then have them routed.

        Each mapping has ``event`` and ``user``, optionally ``idempotency_key``; the
        rest is the payload. Every event is checked first (``runtime.validation``): one
        that is refused raises ``InvalidEventError`` and none of them is stored.
        Events of one user are applied in the order given. The
        engine's dispatcher routes them: inline, before this returns (the default), or
        on the Dramatiq workers.
        """
        now = self.clock.now()
        limits = self._rt.limits
        rows = [validation.event_row(self.platform, limits, e, now, index)
                for index, e in enumerate(events)]
        if not rows:
            return []
        with self.db.begin() as conn:
            self.store.ensure_users(conn, {r["user_id"] for r in rows})
            new = self.store.append_events(conn, rows)
        if new:
            self.dispatcher.events_appended(self, {r["shard"] for r in rows if r["key"] in new})
        return [Emitted(r["key"], r["key"] not in new) for r in rows]

    def route(self, shard: int | None = None, *, max_batches: int | None = None) -> int:
        """Route events not yet routed, oldest first, in batches: every shard's, or one
        shard's when its routing lock is free. Returns how many were routed."""
        return routing.route(self._rt, shard, max_batches)

    @property
    def routing(self) -> bool:
        """Whether this thread is inside ``route()`` (which routes new events too)."""
        return bool(getattr(self._rt.local, "routing", False))

    # -- runs -----------------------------------------------------------------

    def start(self, flow: str, user: str, **payload: Any) -> str | None:
        """Start a run of ``flow`` for ``user`` now, as if its trigger had fired.

        Returns the run's id, or ``None`` when the flow's re-entry rule says no.
        """
        target = self._flow(flow)
        with open_batch(self._rt) as batch:
            self.store.ensure_users(batch.conn, [str(user)])
            batch.load_users([str(user)])
            for row in self.store.runs_of_users(batch.conn, [str(user)], lock=True):
                batch.runs_by_user[row.user_id].append(row)
            event = _json.to_payload({"event": "flow.started", "user": str(user), **payload})
            return transitions.start(batch, target, str(user), event, str(uuid.uuid4()))

    def tick(self, now: pendulum.DateTime | None = None, *,
             max_batches: int | None = None) -> int:
        """Fire the timers due at ``now`` (default: the clock's now), earliest first, in
        batches of ``batch_size``, each batch one transaction. Returns how many fired."""
        return timers.tick(self._rt, now, max_batches)

    def next_due(self) -> pendulum.DateTime | None:
        """When the earliest timer is due, if any."""
        with db.reading(self.db) as conn:
            return self.store.next_due(conn)

    def retry(self, run_id: str) -> None:
        """Run again the step a failed or parked run stopped at (same idempotency key)."""
        with open_batch(self._rt) as batch:
            row = self.store.runs(batch.conn, [run_id], lock=True).get(run_id)
            if row is None:
                raise UnknownRunError(f"no run has the id {run_id!r}")
            if row.status not in ("failed", "parked"):
                raise RunStatusError(
                    f"run {run_id} is {row.status}; only failed or parked runs are retried")
            batch.load_users([row.user_id])
            row.attempts = 0
            # A run that failed before its first step starts again from the top.
            transitions.transition(batch, row, Retry() if row.step else Start())

    def migrate(self, flow: str, from_step: str, to_step: str) -> list[str]:
        """Move the runs of ``flow`` that wait or are parked at ``from_step`` (which the
        current version may no longer have) to ``to_step`` of the current version, and
        run that step afresh (a wait there starts now). Returns the runs moved."""
        target = self._flow(flow)
        if to_step not in self.machines[flow].index:
            steps = ", ".join(s.id for s in target.ir.steps)
            raise UnknownFlowError(f"{flow!r} has no step {to_step!r} (its steps: {steps})")
        moved: list[str] = []
        with open_batch(self._rt) as batch:
            rows = [r for r in self.store.find_runs(batch.conn, flow=flow)
                    if r.step == from_step and r.status in ("waiting", "parked")]
            locked = self.store.runs(batch.conn, [r.id for r in rows], lock=True)
            batch.load_users(r.user_id for r in locked.values())
            for row in locked.values():
                if row.step != from_step or row.status not in ("waiting", "parked"):
                    continue
                history.add(batch, row.id, HistoryEntry(
                    batch.now, "migrated", to_step, {"from": from_step, "to": to_step}))
                row.step, row.attempts = to_step, 0
                transitions.transition(batch, row, Retry())
                moved.append(row.id)
        return moved

    def _flow(self, name: str) -> Flow:
        try:
            return self.flows[name]
        except KeyError:
            known = ", ".join(sorted(self.flows)) or "none"
            raise UnknownFlowError(f"no flow named {name!r} (known: {known})") from None

    # -- reading --------------------------------------------------------------

    def runs(self, user: str | None = None, flow: str | None = None) -> list[RunRecord]:
        """Every run (of ``user``, of ``flow``), oldest first, with its history."""
        with db.reading(self.db) as conn:
            return history.run_records(conn, self.store, user, flow)

    def report(self, flow: str) -> FlowReport:
        """How ``flow`` does: conversion per branch and split arm, drop-off per step,
        messages held by the journey rules (what ``flowkit report`` prints)."""
        with db.reading(self.db) as conn:
            return reports.build(conn, self.store, flow)

    def rejected_events(self) -> list[RejectedEvent]:
        """The events routing rejected (each failed on its own), oldest first, with why."""
        with db.reading(self.db) as conn:
            rows = self.store.rejected_events(conn)
        return [RejectedEvent(r["key"], r["name"], r["user_id"], r["at"], r["error"])
                for r in rows]

    def actions(self, user: str | None = None, name: str | None = None,
                run: str | None = None) -> list[ActionRecord]:
        """Every action that ran (for ``user``, named ``name``, in ``run``), in order."""
        with db.reading(self.db) as conn:
            return history.action_records(conn, self.store, user, name, run)


def _default_platform() -> Any:
    """FLOWKIT_PLATFORM ("package.module:Class", made with no arguments) names an
    adapter to the school's own system; else the built-in SQL platform."""
    import importlib
    import os

    spec = os.environ.get("FLOWKIT_PLATFORM")
    if not spec:
        from flowkit.lms.platform import SqlPlatform

        return SqlPlatform()
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)()
    except (ImportError, AttributeError, ValueError) as error:
        raise UnknownFlowError(f"FLOWKIT_PLATFORM={spec!r} names no platform class: "
                               f"{error}") from error
