"""Routing events to runs: each event, in order per user, meets the user's live runs
(exits first, then event waits) and then the flows it triggers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from flowkit.dsl.flow import Flow
from flowkit.machine import EventArrived
from flowkit.rules import goals
from flowkit.runtime import isolation, transitions
from flowkit.runtime.batch import Batch, Runtime, in_lane, open_batch
from flowkit.store import LIVE, EventRow

TRACK_JOINED = "track.joined"  # starts the track its payload names
_RUN_IDS = uuid.UUID("8f5c1d3e-6a0b-4c47-9e2a-5b7d9f1c3a61")
log = logging.getLogger("flowkit")


def run_id(event_key: str, flow: str) -> str:
    """The id of the run ``event_key`` starts in ``flow``: the same each time the event is
    routed, so a batch that rolls back and is routed again gives its actions the same
    idempotency keys."""
    return str(uuid.uuid5(_RUN_IDS, f"{event_key}\x00{flow}"))


def route(rt: Runtime, shard: int | None = None, max_batches: int | None = None) -> int:
    """Route events not yet routed, oldest first, in batches (see ``Engine.route``)."""
    total = batches = 0
    rt.local.routing = True
    try:
        while max_batches is None or batches < max_batches:
            fetched: list[int] = []
            try:
                routed = _route_next(rt, shard, fetched)
            except Exception as error:
                if not fetched or not isolation.isolatable(error):
                    raise
                isolation.batch_failed("events", len(fetched), error)
                routed = isolation.split(fetched, lambda part: _route_part(rt, shard, part),
                                         lambda seq: _route_alone(rt, shard, seq))
            if routed is None:
                return total
            total += routed
            batches += 1
        return total
    except isolation.ShardBusy:
        return total  # another router took the shard while a batch was split
    finally:
        rt.local.routing = False


def _route_next(rt: Runtime, shard: int | None, fetched: list[int]) -> int | None:
    """Route the next batch; None when there is none (or the shard is busy). The seqs
    of the batch go in ``fetched``, for splitting it if it fails."""
    def work(optimistic: bool) -> int | None:
        fetched.clear()
        return _route_some(rt, shard, fetched, optimistic=optimistic)

    return in_lane(rt, None if shard is None else f"shard-{shard}", work, None)


def _route_some(rt: Runtime, shard: int | None, fetched: list[int], *,
                optimistic: bool) -> int | None:
    with open_batch(rt, optimistic=optimistic) as batch:
        if shard is not None and not rt.store.lock_shard(batch.conn, shard):
            return None  # another router has this shard right now
        events = rt.store.unrouted_events(batch.conn, rt.batch_size, shard)
        if not events:
            return None
        fetched.extend(e.seq for e in events)
        route_batch(batch, events)
    return len(events)


def _route_part(rt: Runtime, shard: int | None, seqs: Sequence[int]) -> int:
    """Route the events of ``seqs`` still unrouted, in one transaction."""
    with open_batch(rt) as batch:
        _lock(batch, shard)
        events = rt.store.unrouted_among(batch.conn, seqs)
        if events:
            route_batch(batch, events)
    return len(events)


def _route_alone(rt: Runtime, shard: int | None, seq: int) -> int:
    """Route one event that failed alone carefully (a failing run is parked); if even
    that fails, reject the event with the reason."""
    try:
        with open_batch(rt) as batch:
            _lock(batch, shard)
            events = rt.store.unrouted_among(batch.conn, [seq])
            if not events:
                return 0
            batch.careful = True
            _route_carefully(batch, events[0])
        return 1
    except Exception as error:
        if not isolation.isolatable(error):
            raise
        failed = error
    with open_batch(rt) as batch:
        _lock(batch, shard)
        events = rt.store.unrouted_among(batch.conn, [seq])
        if events:
            _reject(batch, events[0], "routing it", failed)
    return len(events)


def _route_carefully(batch: Batch, event: EventRow) -> None:
    doing = "loading its user and runs"
    try:
        with batch.conn.begin_nested():
            batch.load_users([event.user_id])
            batch.load_runs_of([event.user_id])
            batch.waits = batch.rt.store.event_waits(batch.conn, [event.user_id])
            doing = "the platform's bookkeeping of it (observe)"
            batch.platform.observe([event.payload])
    except Exception as error:
        if not isolation.isolatable(error):
            raise
        _reject(batch, event, doing, error)
        return
    route_event(batch, event.key, event.name, event.user_id, dict(event.payload))
    batch.routed.append(event.seq)


def _reject(batch: Batch, event: EventRow, doing: str, error: Exception) -> None:
    reason = (f"event {event.key} ({event.name}) of user {event.user_id}: {doing} failed "
              f"with {isolation.describe(error)}")
    batch.rt.store.reject_event(batch.conn, event.seq, reason)
    log.error("rejected %s", reason)


def _lock(batch: Batch, shard: int | None) -> None:
    if shard is not None and not batch.rt.store.lock_shard(batch.conn, shard):
        raise isolation.ShardBusy(shard)


def route_batch(batch: Batch, events: Sequence[EventRow]) -> None:
    """Apply ``events`` in order: read (lock) their users and runs, let the platform
    keep its tables in step with them, then route each."""
    user_ids = {e.user_id for e in events}
    batch.load_users(user_ids)
    batch.load_runs_of(user_ids)
    batch.waits = batch.rt.store.event_waits(batch.conn, user_ids)
    batch.reads_done()
    batch.platform.observe([e.payload for e in events])
    for event in events:
        route_event(batch, event.key, event.name, event.user_id, dict(event.payload))
    batch.routed.extend(e.seq for e in events)


def route_event(batch: Batch, key: str, name: str, user_id: str,
                payload: dict[str, Any]) -> None:
    """One event: goals it reaches, exits of the user's live runs, then their event
    waits, then triggers."""
    if name in batch.rt.goal_events:
        goals.observe(batch, key, name, user_id, payload)
    for row in list(batch.runs_by_user[user_id]):
        if row.status not in LIVE:
            continue
        flow = batch.rt.flows.get(row.flow)
        if flow is None:
            continue
        exit_ = next((e for e in flow.event_exits if e.event == name
                      and _holds(flow, lambda p, e=e, r=row: e.matches(r.trigger, p),
                                 payload)), None)
        if exit_ is not None:
            with isolation.guarded(batch, row, "routing event {} ({}) as its exit", key, name):
                transitions.exit_run(batch, row, f"exit event {exit_.describe()} arrived")
            continue
        wait = batch.waits.get(row.id)
        if wait is not None and wait[0] == name and row.status == "waiting":
            with isolation.guarded(batch, row, "routing event {} ({}) to its event wait", key,
                                   name):
                transitions.transition(batch, row, EventArrived(payload))
    _trigger(batch, key, name, user_id, payload)


def _trigger(batch: Batch, key: str, name: str, user_id: str,
             payload: dict[str, Any]) -> None:
    for flow in batch.rt.triggers.get(name, ()):
        for trigger in flow.triggers:
            if trigger.event != name:
                continue
            if trigger.where is not None and not _holds(flow, trigger.where, payload):
                continue
            transitions.start(batch, flow, user_id, payload, run_id(key, flow.name))
            break
    if name == TRACK_JOINED:
        track = batch.rt.flows.get(str(payload.get("track")))
        if track is not None and track.kind == "track" and track.active:
            invited = getattr(batch.platform, "joining_reenrolls", None)
            reenroll = bool(payload.get("reenroll")) or bool(
                invited and invited(user_id, track.name))
            transitions.start(batch, track, user_id, payload, run_id(key, track.name),
                              reenroll=reenroll)


def _holds(flow: Flow, predicate: Any, payload: dict[str, Any]) -> bool:
    try:
        return bool(predicate(payload))
    except sa.exc.StatementError:
        raise  # the database failed, not the condition: the batch fails and is taken apart
    except Exception as error:
        # An event without the fields a condition reads does not match; it is kept in
        # the event log, and the log line says which flow could not read it.
        log.warning("a condition of %r could not read event %s: %s: %s",
                    flow.name, payload.get("event"), type(error).__name__, error)
        return False
