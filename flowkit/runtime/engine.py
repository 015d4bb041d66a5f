"""The engine: routes events to runs, fires due timers, runs actions, commits in batches.

``Engine`` runs inline, in the calling process; the Dramatiq workers and the
``Simulation`` drive this same engine. Each public method does its work in
transactions of up to ``batch_size`` events or timers: a batch's runs are advanced in
memory and their rows written in a few statements, so a batch costs a handful of
round trips rather than a few per run. One run's failure (its own code raising, an
action failing) fails that run only.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa

from flowkit import _json
from flowkit.clock import Clock, SystemClock
from flowkit.context import Run, User
from flowkit.dsl.flow import Flow
from flowkit.errors import EventError, RunStatusError, UnknownFlowError, UnknownRunError
from flowkit.machine import (
    ActionDone,
    Completed,
    EventArrived,
    Exited,
    Failed,
    HistoryEntry,
    Ignored,
    Input,
    Machine,
    NeedsAction,
    Outcome,
    Parked,
    Retry,
    RunState,
    Start,
    Suspended,
    TimedOut,
    TimerFired,
)
from flowkit.runtime.discovery import Source, load_flows
from flowkit.runtime.dispatch import Dispatcher, InlineDispatcher
from flowkit.runtime.hooks import Hooks
from flowkit.runtime.records import ActionRecord, HistoryRecord, RunRecord
from flowkit.store import LIVE, Changes, RunRow, Store
from flowkit.store import database as db
from flowkit.store import schema as t
from flowkit.store.repository import SHARDS, DueTimer

MAX_ACTIONS_PER_TRANSITION = 1_000
TRACK_JOINED = "track.joined"  # starts the track its payload names
log = logging.getLogger("flowkit")


@attrs.frozen
class _RetryLater:
    """An action failed: the run waits at its step for another attempt."""

    step: str
    at: pendulum.DateTime


_STATUS: dict[type, str] = {Suspended: "waiting", Completed: "completed", Exited: "exited",
                            Parked: "parked", Failed: "failed", _RetryLater: "waiting"}


_TIMER_INPUTS: dict[str, type[TimerFired] | type[TimedOut] | type[Retry]] = {
    "wait": TimerFired, "timeout": TimedOut, "retry": Retry}


_RUN_IDS = uuid.UUID("8f5c1d3e-6a0b-4c47-9e2a-5b7d9f1c3a61")


def _run_id(event_key: str, flow: str) -> str:
    """The id of the run ``event_key`` starts in ``flow``: the same each time the event is
    routed, so a batch that rolls back and is routed again gives its actions the same
    idempotency keys."""
    return str(uuid.uuid5(_RUN_IDS, f"{event_key}\x00{flow}"))


def shard_of(user_id: str) -> int:
    """The routing shard of a user's events."""
    return zlib.crc32(user_id.encode()) % SHARDS


@attrs.frozen
class Emitted:
    """What ``emit`` did with an event."""

    key: str
    duplicate: bool


class _Batch:
    """The state of one transaction: runs loaded or started, and the writes to make."""

    def __init__(self, engine: Engine, conn: sa.Connection, now: pendulum.DateTime) -> None:
        self.engine = engine
        self.conn = conn
        self.now = now
        self.changes = Changes()
        self.users: dict[str, User] = {}
        self.runs_by_user: dict[str, list[RunRow]] = defaultdict(list)
        self.waits: dict[str, tuple[str, str]] = {}
        self.transitions = 0
        self.platform = engine.platform.bind(conn, now)
        self.events: list[dict[str, Any]] = []  # emitted by actions, written with the batch

    def load_users(self, user_ids: Iterable[str]) -> None:
        missing = {u for u in user_ids if u not in self.users}
        for uid, row in self.engine.store.users(self.conn, missing).items():
            self.users[uid] = User(
                id=uid, name=row["name"], email=row["email"], manager=row["manager"],
                timezone=row["timezone"] or "UTC",
                fields=_json.from_jsonable(row["fields"] or {}), platform=self.platform,
            )
        for uid in missing - self.users.keys():
            self.users[uid] = User(id=uid, platform=self.platform)

    def emit(self, event: str, user: str, key: str, payload: dict[str, Any]) -> None:
        self.events.append(self.engine._event_row(
            {"event": event, "user": user, "idempotency_key": key, **payload}, self.now))


class Engine:
    """Runs flows against a database.

    ``Engine()`` uses ``DATABASE_URL`` (else a SQLite file, ``flowkit.db``) and the
    flows of ``automations/`` and ``tracks/``. ``flows`` takes flows, module names,
    files or folders instead. A SQLite database is migrated on start; any other must be
    migrated with ``flowkit db upgrade`` first.
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
        dispatcher: Dispatcher | None = None,
        platform: Any = None,
        action_attempts: int = 5,
        action_backoff: float = 2.0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.hooks = tuple(hooks)
        self.batch_size = batch_size
        self.dispatcher: Dispatcher = dispatcher or InlineDispatcher()
        if platform is None:
            platform = _default_platform()
        self.platform = platform
        self.action_attempts = action_attempts
        self.action_backoff = action_backoff
        self.database_url = db.database_url(database_url)
        self.db = db.create_engine(self.database_url)
        if self.database_url in (db.MEMORY_URL, "sqlite:///:memory:"):
            db.create_all(self.db)  # a new, private database every time
        else:
            sqlite = self.db.dialect.name == "sqlite"
            db.ensure_schema(self.db, migrate=sqlite if migrate is None else migrate)
        self.store = Store(self.db)
        self.flows: dict[str, Flow] = {}
        self.machines: dict[str, Machine] = {}
        self._triggers: dict[str, list[Flow]] = defaultdict(list)
        self._local = threading.local()  # an event loop per thread, for async actions
        self.register(load_flows(flows))

    # -- set-up ---------------------------------------------------------------

    def register(self, flows: Iterable[Flow]) -> None:
        """Add flows (each name once) and record their versions."""
        flows = list(flows)
        for flow in flows:
            self.flows[flow.name] = flow
            self.machines[flow.name] = Machine(flow)
        self._triggers = defaultdict(list)
        for flow in self.flows.values():
            for trigger in flow.triggers:
                self._triggers[trigger.event].append(flow)
        rows = [{"flow": f.name, "version": f.version, "kind": f.kind,
                 "ir": f.ir.to_dict(), "created_at": self.clock.now()} for f in flows]
        with self.db.begin() as conn:
            self.store.save_flow_versions(conn, rows)

    def close(self) -> None:
        loop = getattr(self._local, "loop", None)
        if loop is not None:
            loop.close()
            self._local.loop = None
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
        rest is the payload. Events of one user are applied in the order given. The
        engine's dispatcher routes them: inline, before this returns (the default), or
        on the Dramatiq workers.
        """
        now = self.clock.now()
        rows = [self._event_row(e, now) for e in events]
        if not rows:
            return []
        with self.db.begin() as conn:
            self.store.ensure_users(conn, {r["user_id"] for r in rows})
            new = self.store.append_events(conn, rows)
        if new:
            self.dispatcher.events_appended(self, {r["shard"] for r in rows if r["key"] in new})
        return [Emitted(r["key"], r["key"] not in new) for r in rows]

    def _event_row(self, event: Mapping[str, Any], now: pendulum.DateTime) -> dict[str, Any]:
        fields = dict(event)
        name = fields.pop("event", None)
        user = fields.pop("user", None)
        key = fields.pop("idempotency_key", None) or uuid.uuid4().hex
        if not isinstance(name, str) or not name:
            raise EventError(f"an event needs a name (event=...), got {name!r}")
        if user is None or user == "":
            raise EventError(f"event {name!r} needs a user (user=...)")
        check = getattr(self.platform, "check_event", None)
        if check is not None:
            check(name, fields)
        try:
            payload = _json.to_jsonable({"event": name, "user": str(user), **fields})
        except (TypeError, ValueError) as error:
            raise EventError(f"event {name!r} has a payload that is not JSON: {error}") from error
        return {"key": str(key), "name": name, "user_id": str(user), "payload": payload,
                "at": now, "routed": False, "shard": shard_of(str(user))}

    def route(self, shard: int | None = None, *, max_batches: int | None = None) -> int:
        """Route events not yet routed, oldest first, in batches: every shard's, or one
        shard's when its routing lock is free. Returns how many were routed."""
        total = batches = 0
        self._local.routing = True
        try:
            while max_batches is None or batches < max_batches:
                with self._batch() as batch:
                    if shard is not None and not self.store.lock_shard(batch.conn, shard):
                        return total  # another router has this shard right now
                    events = self.store.unrouted_events(batch.conn, self.batch_size, shard)
                    if not events:
                        return total
                    self._route_batch(batch, events)
                    self.store.mark_routed(batch.conn, [e.seq for e in events])
                total += len(events)
                batches += 1
            return total
        finally:
            self._local.routing = False

    @property
    def routing(self) -> bool:
        """Whether this thread is inside ``route()`` (which routes new events too)."""
        return bool(getattr(self._local, "routing", False))

    def _route_batch(self, batch: _Batch, events: Sequence[Any]) -> None:
        user_ids = {e.user_id for e in events}
        batch.platform.observe([e.payload for e in events])
        batch.load_users(user_ids)
        for row in self.store.runs_of_users(batch.conn, user_ids, lock=True):
            batch.runs_by_user[row.user_id].append(row)
        batch.waits = self.store.event_waits(batch.conn, user_ids)
        for event in events:
            self._route_event(batch, event.key, event.name, event.user_id,
                              dict(event.payload))

    def _route_event(self, batch: _Batch, key: str, name: str, user_id: str,
                     payload: dict[str, Any]) -> None:
        for row in list(batch.runs_by_user[user_id]):
            if row.status not in LIVE:
                continue
            flow = self.flows.get(row.flow)
            if flow is None:
                continue
            exit_ = next((e for e in flow.event_exits if e.event == name
                          and _holds(flow, lambda p, e=e, r=row: e.matches(r.trigger, p),
                                     payload)), None)
            if exit_ is not None:
                self._exit(batch, row, f"exit event {exit_.describe()} arrived")
                continue
            wait = batch.waits.get(row.id)
            if wait is not None and wait[0] == name and row.status == "waiting":
                self._transition(batch, row, EventArrived(payload))
        for flow in self._triggers.get(name, ()):
            for trigger in flow.triggers:
                if trigger.event != name:
                    continue
                if trigger.where is not None and not _holds(flow, trigger.where, payload):
                    continue
                self._start(batch, flow, user_id, payload, _run_id(key, flow.name))
                break
        if name == TRACK_JOINED:
            track = self.flows.get(str(payload.get("track")))
            if track is not None and track.kind == "track" and track.active:
                invited = getattr(batch.platform, "joining_reenrolls", None)
                reenroll = bool(payload.get("reenroll")) or bool(
                    invited and invited(user_id, track.name))
                self._start(batch, track, user_id, payload, _run_id(key, track.name),
                            reenroll=reenroll)

    # -- starting and ending runs ---------------------------------------------

    def start(self, flow: str, user: str, **payload: Any) -> str | None:
        """Start a run of ``flow`` for ``user`` now, as if its trigger had fired.

        Returns the run's id, or ``None`` when the flow's re-entry rule says no.
        """
        target = self._flow(flow)
        with self._batch() as batch:
            self.store.ensure_users(batch.conn, [str(user)])
            batch.load_users([str(user)])
            for row in self.store.runs_of_users(batch.conn, [str(user)], lock=True):
                batch.runs_by_user[row.user_id].append(row)
            event = _json.to_jsonable({"event": "flow.started", "user": str(user), **payload})
            return self._start(batch, target, str(user), event, str(uuid.uuid4()))

    def _start(self, batch: _Batch, flow: Flow, user_id: str, payload: dict[str, Any],
               run_id: str, *, reenroll: bool = False) -> str | None:
        existing = [r for r in batch.runs_by_user[user_id] if r.flow == flow.name]
        reentry = "always" if reenroll else flow.reentry
        if reentry == "never" and existing:
            return None
        if reentry == "after_exit" and any(r.status in LIVE for r in existing):
            return None
        row = RunRow(
            id=run_id, flow=flow.name, version=flow.version, user_id=user_id,
            status="running", step=None, locals={}, visits={}, trigger=payload, reason=None,
            created_at=batch.now, updated_at=batch.now,
        )
        batch.runs_by_user[user_id].append(row)
        batch.changes.put(row, new=True)
        self._history(batch, row.id, HistoryEntry(batch.now, "started", None,
                                                  {"event": payload}))
        for hook in self.hooks:
            hook.after_start(flow.name, user_id)
        self._transition(batch, row, Start())
        return row.id

    def _exit(self, batch: _Batch, row: RunRow, reason: str) -> None:
        row.status, row.reason, row.updated_at = "exited", reason, batch.now
        batch.changes.put(row)
        batch.changes.rest(row.id, None, None)
        batch.waits.pop(row.id, None)
        self._history(batch, row.id, HistoryEntry(batch.now, "exited", row.step,
                                                  {"reason": reason}))

    # -- timers ---------------------------------------------------------------

    def tick(self, now: pendulum.DateTime | None = None, *,
             max_batches: int | None = None) -> int:
        """Fire the timers due at ``now`` (default: the clock's now), earliest first, in
        batches of ``batch_size``, each batch one transaction. Returns how many fired."""
        fired = batches = 0
        while max_batches is None or batches < max_batches:
            with self._batch(now) as batch:
                due, rows = self.store.claim_due_timers(batch.conn, batch.now,
                                                        self.batch_size)
                if not due:
                    return fired
                self._fire(batch, due, rows)
            fired += len(due)
            batches += 1
        return fired

    def _fire(self, batch: _Batch, due: Sequence[DueTimer], rows: dict[str, RunRow]) -> None:
        batch.load_users(r.user_id for r in rows.values())
        batch.waits = self.store.event_waits(batch.conn, {r.user_id for r in rows.values()})
        for timer in due:
            row = rows[timer.run_id]
            if row.status != "waiting" or row.step != timer.step:
                continue  # ended, or moved on, since the timer was set
            lateness = (batch.now - timer.due_at).total_seconds()
            for hook in self.hooks:
                hook.timer_fired(row.flow, timer.kind, lateness)
            self._transition(batch, row, _TIMER_INPUTS[timer.kind]())

    def next_due(self) -> pendulum.DateTime | None:
        """When the earliest timer is due, if any."""
        with self.db.connect() as conn:
            return self.store.next_due(conn)

    # -- runs -----------------------------------------------------------------

    def retry(self, run_id: str) -> None:
        """Run again the step a failed or parked run stopped at (same idempotency key)."""
        with self._batch() as batch:
            row = self.store.runs(batch.conn, [run_id], lock=True).get(run_id)
            if row is None:
                raise UnknownRunError(f"no run has the id {run_id!r}")
            if row.status not in ("failed", "parked"):
                raise RunStatusError(
                    f"run {run_id} is {row.status}; only failed or parked runs are retried")
            batch.load_users([row.user_id])
            row.attempts = 0
            # A run that failed before its first step starts again from the top.
            self._transition(batch, row, Retry() if row.step else Start())

    def migrate(self, flow: str, from_step: str, to_step: str) -> list[str]:
        """Move the runs of ``flow`` that wait or are parked at ``from_step`` (which the
        current version may no longer have) to ``to_step`` of the current version, and
        run that step afresh (a wait there starts now). Returns the runs moved."""
        target = self._flow(flow)
        if to_step not in self.machines[flow].index:
            steps = ", ".join(s.id for s in target.ir.steps)
            raise UnknownFlowError(f"{flow!r} has no step {to_step!r} (its steps: {steps})")
        moved: list[str] = []
        with self._batch() as batch:
            rows = [r for r in self.store.find_runs(batch.conn, flow=flow)
                    if r.step == from_step and r.status in ("waiting", "parked")]
            locked = self.store.runs(batch.conn, [r.id for r in rows], lock=True)
            batch.load_users(r.user_id for r in locked.values())
            for row in locked.values():
                if row.step != from_step or row.status not in ("waiting", "parked"):
                    continue
                self._history(batch, row.id, HistoryEntry(
                    batch.now, "migrated", to_step, {"from": from_step, "to": to_step}))
                row.step, row.attempts = to_step, 0
                self._transition(batch, row, Retry())
                moved.append(row.id)
        return moved

    def _transition(self, batch: _Batch, row: RunRow, inp: Input) -> None:
        user = batch.users.get(row.user_id) or User(id=row.user_id)
        flow = self.flows.get(row.flow)
        state = RunState(step=row.step, locals=_json.from_jsonable(row.locals),
                         visits=dict(row.visits))
        run = Run(id=row.id, flow=row.flow, user=user, event=row.trigger, now=batch.now,
                  step=row.step, visits=state.visits, platform=batch.platform,
                  emitter=batch.emit)
        if flow is None:
            outcome: Outcome | _RetryLater = Parked(
                f"flow {row.flow!r} is not loaded by this engine; deploy it or end the run")
        else:
            outcome = self._drive(batch, flow, row, run, state, inp)
        if isinstance(outcome, Ignored):
            return
        self._record(batch, row, run, state, outcome)

    def _drive(self, batch: _Batch, flow: Flow, row: RunRow, run: Run, state: RunState,
               inp: Input) -> Outcome | _RetryLater:
        machine = self.machines[flow.name]
        outcome = machine.advance(state, inp, run)
        for _ in range(MAX_ACTIONS_PER_TRANSITION):
            if not isinstance(outcome, NeedsAction):
                return outcome
            action_run = attrs.evolve(run, step=outcome.step, visits=dict(state.visits))
            try:
                result = self._run_action(batch, row, action_run, outcome)
            except Exception as error:
                return self._action_failed(batch, row, state, outcome, error)
            row.attempts = 0
            outcome = machine.advance(state, ActionDone(result), run)
        return Failed(f"ran {MAX_ACTIONS_PER_TRANSITION} actions without waiting")

    def _action_failed(self, batch: _Batch, row: RunRow, state: RunState,
                       need: NeedsAction, error: Exception) -> Outcome | _RetryLater:
        """Retry the action later with the same key, with backoff; park the run when it
        has failed ``action_attempts`` times."""
        row.attempts += 1
        name = need.call.action.name
        cause = f"{type(error).__name__}: {error}"
        detail: dict[str, Any] = {"action": name, "key": need.key, "error": cause,
                                  "attempt": row.attempts}
        if row.attempts >= self.action_attempts:
            state.history.append(HistoryEntry(batch.now, "action_failed", need.step, detail))
            return Parked(f"action {name!r} at step {need.step!r} failed {row.attempts} "
                          f"times, last with {cause}; fix the cause, then "
                          f"`flowkit runs retry {row.id}`")
        delay = self.action_backoff * 4 ** (row.attempts - 1)
        retry_at = batch.now.add(seconds=delay)
        detail["retry_at"] = retry_at.isoformat()
        state.history.append(HistoryEntry(batch.now, "action_failed", need.step, detail))
        return _RetryLater(need.step, retry_at)

    def _run_action(self, batch: _Batch, row: RunRow, run: Run, need: NeedsAction) -> Any:
        call = need.call
        for hook in self.hooks:
            hook.before_action(run, call, need.key)
        kwargs = dict(call.kwargs)
        if call.action.takes_run:
            kwargs["run"] = run
        error: BaseException | None = None
        result: Any = None
        try:
            result = call.action.fn(*call.args, **kwargs)
            if inspect.isawaitable(result):
                result = self._await(result)
        except BaseException as raised:
            error = raised
            raise
        finally:
            for hook in self.hooks:
                hook.after_action(run, call, need.key, result, error)
        batch.changes.actions.append({
            "key": need.key, "run_id": row.id, "flow": row.flow, "user_id": row.user_id,
            "step": need.step, "action": call.action.name, "args": _bound_args(call),
            "result": _loggable(result), "at": batch.now,
        })
        return result

    def _await(self, awaitable: Any) -> Any:
        loop = getattr(self._local, "loop", None)
        if loop is None:
            loop = self._local.loop = asyncio.new_event_loop()
        return loop.run_until_complete(awaitable)

    def _record(self, batch: _Batch, row: RunRow, run: Run, state: RunState,
                outcome: Outcome | _RetryLater) -> None:
        status = _STATUS[type(outcome)]
        row.status, row.step, row.updated_at = status, state.step, batch.now
        row.locals = _saveable(state.locals)
        row.visits = dict(state.visits)
        row.reason = getattr(outcome, "reason", None)
        flow = self.flows.get(row.flow)
        if flow is not None and (state.step is None or state.step in self.machines[
                flow.name].index):
            row.version = flow.version  # a stranded run keeps the version it came from
        batch.changes.put(row)
        timer = wait = None
        if isinstance(outcome, _RetryLater):
            timer = {"run_id": row.id, "due_at": outcome.at, "step": outcome.step,
                     "kind": "retry"}
        if isinstance(outcome, Suspended):
            if outcome.wake_at is not None:
                timer = {"run_id": row.id, "due_at": outcome.wake_at, "step": outcome.step,
                         "kind": "wait" if outcome.event is None else "timeout"}
            if outcome.event is not None:
                wait = {"run_id": row.id, "user_id": row.user_id, "event": outcome.event,
                        "step": outcome.step}
                batch.waits[row.id] = (outcome.event, outcome.step)
            else:
                batch.waits.pop(row.id, None)
        else:
            batch.waits.pop(row.id, None)
        batch.changes.rest(row.id, timer, wait)
        for entry in state.history:
            self._history(batch, row.id, entry)
        if isinstance(outcome, Exited | Parked | Failed) and not any(
                e.kind in ("exited", "parked", "failed") for e in state.history):
            self._history(batch, row.id, HistoryEntry(batch.now, status, state.step,
                                                      {"reason": outcome.reason}))
        state.history.clear()
        batch.transitions += 1
        for hook in self.hooks:
            hook.after_transition(run, status, state.step, outcome)

    def _history(self, batch: _Batch, run_id: str, entry: HistoryEntry) -> None:
        batch.changes.history.setdefault(run_id, []).append(
            {"at": entry.at.isoformat(), "kind": entry.kind, "step": entry.step,
             "detail": entry.detail})
        batch.changes.history_at[run_id] = entry.at

    @contextmanager
    def _batch(self, now: pendulum.DateTime | None = None) -> Iterator[_Batch]:
        began = time.perf_counter()
        with self.db.begin() as conn:
            batch = _Batch(self, conn, now or self.clock.now())
            yield batch
            self.store.write(conn, batch.changes)
            new = self.store.append_events(conn, batch.events)
        if new:
            self.dispatcher.events_appended(
                self, {e["shard"] for e in batch.events if e["key"] in new})
        if batch.transitions:
            seconds = time.perf_counter() - began
            for hook in self.hooks:
                hook.after_commit(batch.transitions, seconds)

    def _flow(self, name: str) -> Flow:
        try:
            return self.flows[name]
        except KeyError:
            known = ", ".join(sorted(self.flows)) or "none"
            raise UnknownFlowError(f"no flow named {name!r} (known: {known})") from None

    # -- reading --------------------------------------------------------------

    def runs(self, user: str | None = None, flow: str | None = None) -> list[RunRecord]:
        """Every run (of ``user``, of ``flow``), oldest first, with its history."""
        with self.db.connect() as conn:
            rows = self.store.find_runs(conn, user_id=user, flow=flow)
            history = self.store.history(conn, [r.id for r in rows])
            ids = [r.id for r in rows]
            timers = {r.run_id: r.due_at for r in conn.execute(
                sa.select(t.timers).where(t.timers.c.run_id.in_(ids)))} if ids else {}
            waits = self.store.event_waits(conn, {r.user_id for r in rows})
        return [
            RunRecord(
                id=r.id, flow=r.flow, user=r.user_id, status=r.status, step=r.step,
                version=r.version, reason=r.reason, locals=_json.from_jsonable(r.locals),
                event=r.trigger, created_at=r.created_at, updated_at=r.updated_at,
                history=tuple(HistoryRecord(_moment(h["at"]), h["kind"], h["step"],
                                            h["detail"]) for h in history[r.id]),
                wakes_at=timers.get(r.id),
                waits_for=waits[r.id][0] if r.id in waits else None,
            )
            for r in rows
        ]

    def actions(self, user: str | None = None, name: str | None = None,
                run: str | None = None) -> list[ActionRecord]:
        """Every action that ran (for ``user``, named ``name``, in ``run``), in order."""
        with self.db.connect() as conn:
            rows = self.store.actions(conn, user_id=user, action=name, run_id=run)
        return [ActionRecord(key=r["key"], name=r["action"], args=r["args"],
                             user=r["user_id"], run=r["run_id"], flow=r["flow"],
                             step=r["step"], at=r["at"], result=r["result"]) for r in rows]


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


def _moment(text: str) -> pendulum.DateTime:
    moment = pendulum.parse(text)
    assert isinstance(moment, pendulum.DateTime)
    return moment.in_timezone("UTC")


def _holds(flow: Flow, predicate: Any, payload: dict[str, Any]) -> bool:
    try:
        return bool(predicate(payload))
    except Exception as error:
        # An event without the fields a condition reads does not match; it is kept in
        # the event log, and the log line says which flow could not read it.
        log.warning("a condition of %r could not read event %s: %s: %s",
                    flow.name, payload.get("event"), type(error).__name__, error)
        return False


def _bound_args(call: Any) -> dict[str, Any]:
    return _loggable(call.action.arguments(call.args, call.kwargs))  # type: ignore[no-any-return]


def _loggable(value: object) -> Any:
    try:
        return _json.to_jsonable(value)
    except (TypeError, ValueError):
        return repr(value)


def _saveable(values: dict[str, Any]) -> dict[str, Any]:
    """The locals as JSON; one that JSON cannot hold is kept as a note of its type (its
    run is parked, and the note says what was there)."""
    try:
        return _json.to_jsonable(values)  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        out: dict[str, Any] = {}
        for name, value in values.items():
            try:
                out[name] = _json.to_jsonable(value)
            except (TypeError, ValueError):
                out[name] = {"$unsaved": type(value).__name__}
        return out
